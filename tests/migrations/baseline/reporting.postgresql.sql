-- create_all of the reporting database at main 3dcf5fd (postgresql); frozen, see make_baseline.py
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

CREATE TABLE cov_units (
	code VARCHAR(12) NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	level VARCHAR(10) NOT NULL, 
	parent_code VARCHAR(12), 
	PRIMARY KEY (code)
);

CREATE TABLE cov_persons (
	person_id VARCHAR(36) NOT NULL, 
	village_code VARCHAR(12) NOT NULL, 
	township_code VARCHAR(12) NOT NULL, 
	category INTEGER NOT NULL, 
	grade INTEGER NOT NULL, 
	severe BOOLEAN NOT NULL, 
	hardship BOOLEAN NOT NULL, 
	active BOOLEAN NOT NULL, 
	PRIMARY KEY (person_id)
);

CREATE TABLE cov_years (
	person_id VARCHAR(36) NOT NULL, 
	year INTEGER NOT NULL, 
	visited BOOLEAN DEFAULT false NOT NULL, 
	lost_to_follow_up BOOLEAN DEFAULT false NOT NULL, 
	planned BOOLEAN DEFAULT false NOT NULL, 
	delivered INTEGER DEFAULT '0' NOT NULL, 
	PRIMARY KEY (person_id, year)
);

CREATE TABLE ledger_entries (
	rectification_id VARCHAR(50) NOT NULL, 
	number VARCHAR(20), 
	finding_id VARCHAR(36) NOT NULL, 
	inspection_id VARCHAR(36) NOT NULL, 
	group_id VARCHAR(36) NOT NULL, 
	township_code VARCHAR(12), 
	responsible_unit VARCHAR(50) NOT NULL, 
	target_kind VARCHAR(20) NOT NULL, 
	target_code VARCHAR(50) NOT NULL, 
	target_name VARCHAR(200) NOT NULL, 
	problem TEXT NOT NULL, 
	measures TEXT NOT NULL, 
	deadline DATE NOT NULL, 
	status VARCHAR(12) NOT NULL, 
	assigned_on DATE NOT NULL, 
	reported_on DATE, 
	closed_on DATE, 
	reopen_count INTEGER DEFAULT '0' NOT NULL, 
	measures_taken TEXT, 
	PRIMARY KEY (rectification_id)
);

CREATE TABLE ledger_steps (
	rectification_id VARCHAR(50) NOT NULL, 
	step INTEGER NOT NULL, 
	kind VARCHAR(12) NOT NULL, 
	on_date DATE NOT NULL, 
	actor VARCHAR(50) NOT NULL, 
	detail TEXT NOT NULL, 
	evidence TEXT NOT NULL, 
	deadline DATE NOT NULL, 
	PRIMARY KEY (rectification_id, step)
);

CREATE TABLE ledger_groups (
	group_id VARCHAR(36) NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	PRIMARY KEY (group_id)
);

CREATE TABLE ledger_inspections (
	inspection_id VARCHAR(36) NOT NULL, 
	group_id VARCHAR(36) NOT NULL, 
	target_name VARCHAR(200) NOT NULL, 
	scheduled_on DATE NOT NULL, 
	started_on DATE, 
	PRIMARY KEY (inspection_id)
);

CREATE TABLE ledger_names (
	code VARCHAR(50) NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	kind VARCHAR(12) NOT NULL, 
	PRIMARY KEY (code)
);

CREATE TABLE insp_groups (
	group_id VARCHAR(36) NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	leader VARCHAR(50) NOT NULL, 
	PRIMARY KEY (group_id)
);

CREATE TABLE insp_inspections (
	inspection_id VARCHAR(36) NOT NULL, 
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
	items_passed INTEGER, 
	items_failed INTEGER, 
	items_not_applicable INTEGER, 
	focus_checks INTEGER, 
	focus_checks_with_issues INTEGER, 
	PRIMARY KEY (inspection_id)
);

CREATE TABLE insp_item_results (
	inspection_id VARCHAR(36) NOT NULL, 
	item_id VARCHAR(100) NOT NULL, 
	group_id VARCHAR(36) NOT NULL, 
	township_code VARCHAR(12), 
	template_id VARCHAR(100) NOT NULL, 
	template_version INTEGER NOT NULL, 
	result VARCHAR(16) NOT NULL, 
	completed_on DATE NOT NULL, 
	PRIMARY KEY (inspection_id, item_id)
);

CREATE TABLE insp_findings (
	finding_id VARCHAR(36) NOT NULL, 
	inspection_id VARCHAR(36) NOT NULL, 
	group_id VARCHAR(36) NOT NULL, 
	township_code VARCHAR(12), 
	source VARCHAR(12) NOT NULL, 
	item_id VARCHAR(100), 
	description TEXT NOT NULL, 
	recorded_on DATE NOT NULL, 
	status VARCHAR(12) NOT NULL, 
	number VARCHAR(20), 
	responsible_unit VARCHAR(50), 
	deadline DATE, 
	PRIMARY KEY (finding_id)
);

CREATE TABLE insp_template_items (
	template_id VARCHAR(100) NOT NULL, 
	version INTEGER NOT NULL, 
	item_id VARCHAR(100) NOT NULL, 
	position INTEGER NOT NULL, 
	title VARCHAR(200) NOT NULL, 
	text TEXT NOT NULL, 
	weight FLOAT NOT NULL, 
	PRIMARY KEY (template_id, version, item_id)
);

CREATE TABLE rpt_tasks (
	task_id VARCHAR(36) NOT NULL, 
	list_id VARCHAR(120) NOT NULL, 
	month VARCHAR(7) NOT NULL, 
	issuer_department VARCHAR(50) NOT NULL, 
	title VARCHAR(200) NOT NULL, 
	responsible_department VARCHAR(50) NOT NULL, 
	org_unit_code VARCHAR(12), 
	assignee VARCHAR(200), 
	metric VARCHAR(100) NOT NULL, 
	unit VARCHAR(20) NOT NULL, 
	target_value FLOAT NOT NULL, 
	issued_on DATE NOT NULL, 
	deadline DATE NOT NULL, 
	value_reached FLOAT DEFAULT '0' NOT NULL, 
	last_reported_on DATE, 
	completed_on DATE, 
	completed_how VARCHAR(20), 
	on_time BOOLEAN, 
	cancelled_on DATE, 
	cancel_reason TEXT, 
	extended BOOLEAN DEFAULT false NOT NULL, 
	PRIMARY KEY (task_id)
);

CREATE INDEX ix_rpt_tasks_deadline ON rpt_tasks (deadline);

CREATE INDEX ix_rpt_tasks_month_department ON rpt_tasks (month, responsible_department);

CREATE TABLE rpt_highlights (
	highlight_id VARCHAR(36) NOT NULL, 
	department VARCHAR(50) NOT NULL, 
	title VARCHAR(200) NOT NULL, 
	description TEXT NOT NULL, 
	tags TEXT NOT NULL, 
	evidence TEXT NOT NULL, 
	submitted_on DATE NOT NULL, 
	status VARCHAR(10) NOT NULL, 
	reject_reason TEXT, 
	approved_on DATE, 
	featured_on DATE, 
	PRIMARY KEY (highlight_id)
);

CREATE TABLE rpt_publicity (
	item_id VARCHAR(36) NOT NULL, 
	department VARCHAR(50) NOT NULL, 
	title VARCHAR(200) NOT NULL, 
	channel VARCHAR(50) NOT NULL, 
	published_on DATE NOT NULL, 
	highlight_id VARCHAR(36), 
	url VARCHAR(500), 
	withdrawn BOOLEAN DEFAULT false NOT NULL, 
	withdraw_reason TEXT, 
	PRIMARY KEY (item_id)
);

CREATE TABLE pi_items (
	item_id VARCHAR(80) NOT NULL, 
	plan_id VARCHAR(80) NOT NULL, 
	person_id VARCHAR(80) NOT NULL, 
	year INTEGER NOT NULL, 
	kind VARCHAR(12) NOT NULL, 
	need VARCHAR(40) NOT NULL, 
	description TEXT NOT NULL, 
	responsible_department VARCHAR(50) NOT NULL, 
	due_on DATE NOT NULL, 
	status VARCHAR(12) NOT NULL, 
	delivered_on DATE, 
	cancel_reason TEXT, 
	PRIMARY KEY (item_id)
);

CREATE TABLE pi_persons (
	person_id VARCHAR(80) NOT NULL, 
	village_code VARCHAR(12) NOT NULL, 
	township_code VARCHAR(12) NOT NULL, 
	active BOOLEAN NOT NULL, 
	PRIMARY KEY (person_id)
);

CREATE TABLE pi_names (
	code VARCHAR(50) NOT NULL, 
	name VARCHAR(100) NOT NULL, 
	kind VARCHAR(12) NOT NULL, 
	parent_code VARCHAR(12), 
	PRIMARY KEY (code)
);

CREATE TABLE audit_events_registry (
	event_id VARCHAR(64) NOT NULL, 
	service VARCHAR(20) NOT NULL, 
	stream_id VARCHAR(120) NOT NULL, 
	stream_type VARCHAR(20) NOT NULL, 
	stream_version INTEGER NOT NULL, 
	type VARCHAR(60) NOT NULL, 
	time VARCHAR(40) NOT NULL, 
	actor VARCHAR(120) NOT NULL, 
	department VARCHAR(50) NOT NULL, 
	data TEXT NOT NULL, 
	PRIMARY KEY (event_id)
);

CREATE TABLE audit_refs_registry (
	entity_id VARCHAR(120) NOT NULL, 
	event_id VARCHAR(64) NOT NULL, 
	field VARCHAR(40) NOT NULL, 
	PRIMARY KEY (entity_id, event_id)
);

CREATE TABLE audit_events_checklists (
	event_id VARCHAR(64) NOT NULL, 
	service VARCHAR(20) NOT NULL, 
	stream_id VARCHAR(120) NOT NULL, 
	stream_type VARCHAR(20) NOT NULL, 
	stream_version INTEGER NOT NULL, 
	type VARCHAR(60) NOT NULL, 
	time VARCHAR(40) NOT NULL, 
	actor VARCHAR(120) NOT NULL, 
	department VARCHAR(50) NOT NULL, 
	data TEXT NOT NULL, 
	PRIMARY KEY (event_id)
);

CREATE TABLE audit_refs_checklists (
	entity_id VARCHAR(120) NOT NULL, 
	event_id VARCHAR(64) NOT NULL, 
	field VARCHAR(40) NOT NULL, 
	PRIMARY KEY (entity_id, event_id)
);

CREATE TABLE audit_events_inspections (
	event_id VARCHAR(64) NOT NULL, 
	service VARCHAR(20) NOT NULL, 
	stream_id VARCHAR(120) NOT NULL, 
	stream_type VARCHAR(20) NOT NULL, 
	stream_version INTEGER NOT NULL, 
	type VARCHAR(60) NOT NULL, 
	time VARCHAR(40) NOT NULL, 
	actor VARCHAR(120) NOT NULL, 
	department VARCHAR(50) NOT NULL, 
	data TEXT NOT NULL, 
	PRIMARY KEY (event_id)
);

CREATE TABLE audit_refs_inspections (
	entity_id VARCHAR(120) NOT NULL, 
	event_id VARCHAR(64) NOT NULL, 
	field VARCHAR(40) NOT NULL, 
	PRIMARY KEY (entity_id, event_id)
);

