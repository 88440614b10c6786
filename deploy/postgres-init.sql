-- One database per service instance: services never share tables.
CREATE DATABASE registry;
CREATE DATABASE checklists_federation;
CREATE DATABASE checklists_health;
CREATE DATABASE inspections;
CREATE DATABASE reporting;
