-- create_all of the checklists database at main 3dcf5fd (postgresql); frozen, see make_baseline.py
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

CREATE TABLE replica_events (
	stream_id VARCHAR(200) NOT NULL, 
	version INTEGER NOT NULL, 
	event_id VARCHAR(36) NOT NULL, 
	event_type VARCHAR(100) NOT NULL, 
	department VARCHAR(50) NOT NULL, 
	envelope TEXT NOT NULL, 
	PRIMARY KEY (stream_id, version)
);

CREATE TABLE departments (
	code VARCHAR(50) NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	PRIMARY KEY (code)
);

CREATE TABLE task_lists (
	list_id VARCHAR(120) NOT NULL, 
	month VARCHAR(7) NOT NULL, 
	title VARCHAR(200) NOT NULL, 
	issuer_department VARCHAR(50) NOT NULL, 
	issued_on DATE NOT NULL, 
	version INTEGER NOT NULL, 
	PRIMARY KEY (list_id)
);

CREATE TABLE tasks (
	task_id VARCHAR(36) NOT NULL, 
	list_id VARCHAR(120) NOT NULL, 
	month VARCHAR(7) NOT NULL, 
	issuer_department VARCHAR(50) NOT NULL, 
	title VARCHAR(200) NOT NULL, 
	description TEXT NOT NULL, 
	responsible_department VARCHAR(50) NOT NULL, 
	org_unit_code VARCHAR(12), 
	assignee VARCHAR(200), 
	metric VARCHAR(100) NOT NULL, 
	unit VARCHAR(20) NOT NULL, 
	target_value FLOAT NOT NULL, 
	complete_when_target_reached BOOLEAN NOT NULL, 
	issued_on DATE NOT NULL, 
	deadline DATE NOT NULL, 
	extensions INTEGER NOT NULL, 
	cancelled_on DATE, 
	cancel_reason TEXT, 
	issue_version INTEGER NOT NULL, 
	PRIMARY KEY (task_id)
);

CREATE INDEX ix_tasks_month_department ON tasks (month, responsible_department);

CREATE INDEX ix_tasks_deadline ON tasks (deadline);

CREATE TABLE task_work (
	task_id VARCHAR(36) NOT NULL, 
	value_reached FLOAT NOT NULL, 
	last_reported_on DATE, 
	completed_on DATE, 
	completed_how VARCHAR(20), 
	on_time BOOLEAN, 
	work_version INTEGER NOT NULL, 
	PRIMARY KEY (task_id)
);

CREATE TABLE templates (
	template_id VARCHAR(80) NOT NULL, 
	title VARCHAR(200) NOT NULL, 
	current_version INTEGER, 
	draft_version INTEGER, 
	items INTEGER NOT NULL, 
	published_on DATE, 
	version INTEGER NOT NULL, 
	PRIMARY KEY (template_id)
);

CREATE TABLE highlights (
	highlight_id VARCHAR(36) NOT NULL, 
	department VARCHAR(50) NOT NULL, 
	title VARCHAR(200) NOT NULL, 
	description TEXT NOT NULL, 
	tags TEXT NOT NULL, 
	evidence TEXT NOT NULL, 
	submitted_on DATE NOT NULL, 
	submission_version INTEGER NOT NULL, 
	PRIMARY KEY (highlight_id)
);

CREATE TABLE highlight_reviews (
	highlight_id VARCHAR(36) NOT NULL, 
	status VARCHAR(10) NOT NULL, 
	reject_reason TEXT, 
	approved_on DATE, 
	featured_on DATE, 
	review_version INTEGER NOT NULL, 
	PRIMARY KEY (highlight_id)
);

CREATE TABLE publicity (
	item_id VARCHAR(36) NOT NULL, 
	department VARCHAR(50) NOT NULL, 
	title VARCHAR(200) NOT NULL, 
	channel VARCHAR(50) NOT NULL, 
	published_on DATE NOT NULL, 
	highlight_id VARCHAR(36), 
	url VARCHAR(500), 
	withdrawn BOOLEAN NOT NULL, 
	withdraw_reason TEXT, 
	version INTEGER NOT NULL, 
	PRIMARY KEY (item_id)
);

