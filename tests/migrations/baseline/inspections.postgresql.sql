-- create_all of the inspections database at main 3dcf5fd (postgresql); frozen, see make_baseline.py
CREATE TABLE events (
	position BIGSERIAL NOT NULL, 
	event_id VARCHAR(36) NOT NULL, 
	stream_id VARCHAR(200) NOT NULL, 
	stream_type VARCHAR(50) NOT NULL, 
	version INTEGER NOT NULL, 
	event_type VARCHAR(100) NOT NULL, 
	schema_version INTEGER NOT NULL, 
	department VARCHAR(50) NOT NULL, 
	occurred_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	envelope TEXT NOT NULL, 
	hash VARCHAR(64) NOT NULL, 
	PRIMARY KEY (position), 
	CONSTRAINT uq_events_stream_version UNIQUE (stream_id, version), 
	UNIQUE (event_id)
);

CREATE INDEX ix_events_stream_type ON events (stream_type, position);

CREATE TABLE outbox (
	position BIGINT NOT NULL, 
	PRIMARY KEY (position)
);

CREATE TABLE tracking (
	consumer VARCHAR(100) NOT NULL, 
	source VARCHAR(100) NOT NULL, 
	position BIGINT NOT NULL, 
	PRIMARY KEY (consumer, source)
);

CREATE TABLE dead_letters (
	id BIGSERIAL NOT NULL, 
	consumer VARCHAR(100) NOT NULL, 
	source VARCHAR(100) NOT NULL, 
	sequence BIGINT NOT NULL, 
	subject VARCHAR(300) NOT NULL, 
	event_id VARCHAR(36), 
	event_type VARCHAR(100), 
	reason TEXT NOT NULL, 
	body TEXT NOT NULL, 
	failed_at TIMESTAMP WITH TIME ZONE NOT NULL, 
	PRIMARY KEY (id)
);

CREATE TABLE groups (
	group_id VARCHAR(36) NOT NULL, 
	version INTEGER NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	leader VARCHAR(50) NOT NULL, 
	members TEXT NOT NULL, 
	township_codes TEXT NOT NULL, 
	unit_codes TEXT NOT NULL, 
	PRIMARY KEY (group_id)
);

CREATE TABLE inspections (
	inspection_id VARCHAR(36) NOT NULL, 
	version INTEGER NOT NULL, 
	group_id VARCHAR(36) NOT NULL, 
	target_kind VARCHAR(20) NOT NULL, 
	target_code VARCHAR(50) NOT NULL, 
	target_name VARCHAR(200) NOT NULL, 
	township_code VARCHAR(12), 
	template_id VARCHAR(100) NOT NULL, 
	template_version INTEGER NOT NULL, 
	status VARCHAR(12) NOT NULL, 
	scheduled_on DATE NOT NULL, 
	started_on DATE, 
	completed_on DATE, 
	score FLOAT, 
	findings INTEGER NOT NULL, 
	PRIMARY KEY (inspection_id)
);

CREATE INDEX ix_inspections_group_id ON inspections (group_id);

CREATE TABLE rectifications (
	rectification_id VARCHAR(50) NOT NULL, 
	version INTEGER NOT NULL, 
	number VARCHAR(20), 
	finding_id VARCHAR(36) NOT NULL, 
	inspection_id VARCHAR(36) NOT NULL, 
	group_id VARCHAR(36) NOT NULL, 
	township_code VARCHAR(12), 
	responsible_unit VARCHAR(50) NOT NULL, 
	problem TEXT NOT NULL, 
	measures TEXT NOT NULL, 
	deadline DATE NOT NULL, 
	status VARCHAR(12) NOT NULL, 
	assigned_on DATE NOT NULL, 
	reported_on DATE, 
	closed_on DATE, 
	reopen_count INTEGER NOT NULL, 
	PRIMARY KEY (rectification_id), 
	UNIQUE (number)
);

CREATE INDEX ix_rectifications_group ON rectifications (group_id);

CREATE INDEX ix_rectifications_unit_status ON rectifications (responsible_unit, status);

CREATE TABLE ledger_counters (
	year SERIAL NOT NULL, 
	last INTEGER NOT NULL, 
	PRIMARY KEY (year)
);

CREATE TABLE known_templates (
	template_id VARCHAR(100) NOT NULL, 
	version INTEGER NOT NULL, 
	title VARCHAR(200) NOT NULL, 
	items TEXT NOT NULL, 
	published_on DATE NOT NULL, 
	supersedes INTEGER, 
	PRIMARY KEY (template_id, version)
);

CREATE TABLE known_staff (
	staff_id VARCHAR(50) NOT NULL, 
	display_name VARCHAR(100) NOT NULL, 
	department VARCHAR(50) NOT NULL, 
	roles TEXT NOT NULL, 
	township_code VARCHAR(12), 
	PRIMARY KEY (staff_id)
);

CREATE TABLE known_departments (
	code VARCHAR(50) NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	org_unit_code VARCHAR(12), 
	PRIMARY KEY (code)
);

CREATE TABLE known_org_units (
	code VARCHAR(12) NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	level VARCHAR(10) NOT NULL, 
	parent_code VARCHAR(12), 
	PRIMARY KEY (code)
);

CREATE TABLE known_persons (
	person_id VARCHAR(36) NOT NULL, 
	township_code VARCHAR(12) NOT NULL, 
	village_code VARCHAR(12) NOT NULL, 
	severe BOOLEAN NOT NULL, 
	hardship BOOLEAN NOT NULL, 
	active BOOLEAN NOT NULL, 
	PRIMARY KEY (person_id)
);

CREATE INDEX ix_known_persons_township ON known_persons (township_code);

CREATE TABLE known_person_years (
	person_id VARCHAR(36) NOT NULL, 
	year INTEGER NOT NULL, 
	visited BOOLEAN DEFAULT false NOT NULL, 
	planned BOOLEAN DEFAULT false NOT NULL, 
	PRIMARY KEY (person_id, year)
);

