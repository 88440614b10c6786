-- create_all of the registry database at main 3dcf5fd (sqlite); frozen, see make_baseline.py
CREATE TABLE events (
	position INTEGER NOT NULL, 
	event_id VARCHAR(36) NOT NULL, 
	stream_id VARCHAR(200) NOT NULL, 
	stream_type VARCHAR(50) NOT NULL, 
	version INTEGER NOT NULL, 
	event_type VARCHAR(100) NOT NULL, 
	schema_version INTEGER NOT NULL, 
	department VARCHAR(50) NOT NULL, 
	occurred_at DATETIME NOT NULL, 
	envelope TEXT NOT NULL, 
	hash VARCHAR(64) NOT NULL, 
	PRIMARY KEY (position), 
	CONSTRAINT uq_events_stream_version UNIQUE (stream_id, version), 
	UNIQUE (event_id)
);

CREATE INDEX ix_events_stream_type ON events (stream_type, position);

CREATE TABLE outbox (
	position INTEGER NOT NULL, 
	PRIMARY KEY (position)
);

CREATE TABLE tracking (
	consumer VARCHAR(100) NOT NULL, 
	source VARCHAR(100) NOT NULL, 
	position BIGINT NOT NULL, 
	PRIMARY KEY (consumer, source)
);

CREATE TABLE dead_letters (
	id INTEGER NOT NULL, 
	consumer VARCHAR(100) NOT NULL, 
	source VARCHAR(100) NOT NULL, 
	sequence BIGINT NOT NULL, 
	subject VARCHAR(300) NOT NULL, 
	event_id VARCHAR(36), 
	event_type VARCHAR(100), 
	reason TEXT NOT NULL, 
	body TEXT NOT NULL, 
	failed_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);

CREATE TABLE org_units (
	code VARCHAR(12) NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	level VARCHAR(10) NOT NULL, 
	parent_code VARCHAR(12), 
	PRIMARY KEY (code)
);

CREATE TABLE departments (
	code VARCHAR(50) NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	org_unit_code VARCHAR(12), 
	PRIMARY KEY (code)
);

CREATE TABLE staff (
	staff_id VARCHAR(50) NOT NULL, 
	display_name VARCHAR(100) NOT NULL, 
	department VARCHAR(50) NOT NULL, 
	roles TEXT NOT NULL, 
	township_code VARCHAR(12), 
	PRIMARY KEY (staff_id)
);

CREATE TABLE person_keys (
	person_id VARCHAR(36) NOT NULL, 
	wrapped_key BLOB, 
	erased_at DATETIME, 
	PRIMARY KEY (person_id)
);

CREATE TABLE resident_index (
	resident_index VARCHAR(64) NOT NULL, 
	person_id VARCHAR(36) NOT NULL, 
	PRIMARY KEY (resident_index)
);

CREATE TABLE persons (
	person_id VARCHAR(36) NOT NULL, 
	version INTEGER NOT NULL, 
	township_code VARCHAR(12) NOT NULL, 
	village_code VARCHAR(12) NOT NULL, 
	category INTEGER NOT NULL, 
	grade INTEGER NOT NULL, 
	severe BOOLEAN NOT NULL, 
	hardship TEXT NOT NULL, 
	sex VARCHAR(6) NOT NULL, 
	birth_year INTEGER NOT NULL, 
	active BOOLEAN NOT NULL, 
	erased BOOLEAN NOT NULL, 
	registered_on DATE NOT NULL, 
	sealed TEXT NOT NULL, 
	PRIMARY KEY (person_id)
);

CREATE INDEX ix_persons_township_village ON persons (township_code, village_code);

