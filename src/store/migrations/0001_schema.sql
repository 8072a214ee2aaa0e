-- The schema for all three backends. Tokens are replaced per backend by store::migrate:
-- {ID} auto-increment primary key, {KEY} indexed short text, {TEXT} long text,
-- {INT} 64-bit integer, {REAL} double, {OPTS} table options (MariaDB: charset/collation).
-- Statements are separated by a line holding only ";" so no statement may contain that line.

CREATE TABLE accounts (
  id {ID},
  kind {KEY} NOT NULL,
  name {KEY} NOT NULL UNIQUE,
  password_hash {TEXT} NOT NULL,
  parent_id {INT} NULL REFERENCES accounts(id),
  limit_customers {INT} NOT NULL,
  limit_domains {INT} NOT NULL,
  limit_mailboxes {INT} NOT NULL,
  limit_aliases {INT} NOT NULL,
  limit_quota_mb {INT} NOT NULL,
  limit_dns_zones {INT} NOT NULL,
  limit_dns_records {INT} NOT NULL,
  api_functions {TEXT} NOT NULL,
  active {INT} NOT NULL,
  created_at {INT} NOT NULL
){OPTS}
;
CREATE TABLE spam_policies (
  id {ID},
  name {KEY} NOT NULL UNIQUE,
  tag {REAL} NULL,
  tag2 {REAL} NULL,
  kill_level {REAL} NULL,
  modifies_subject {INT} NULL,
  subject_tag {KEY} NULL,
  spam_lover {INT} NULL,
  virus_lover {INT} NULL,
  builtin {INT} NOT NULL
){OPTS}
;
CREATE TABLE server_sets (
  id {ID},
  name {KEY} NOT NULL UNIQUE,
  provider_id {KEY} NOT NULL,
  display_name {KEY} NOT NULL,
  display_short_name {KEY} NOT NULL,
  node {KEY} NULL,
  endpoints {TEXT} NOT NULL,
  oauth2 {TEXT} NULL,
  caldav_url {TEXT} NULL,
  carddav_url {TEXT} NULL
){OPTS}
;
CREATE TABLE domains (
  id {ID},
  name {KEY} NOT NULL UNIQUE,
  customer_id {INT} NOT NULL REFERENCES accounts(id),
  active {INT} NOT NULL,
  server_set_id {INT} NULL REFERENCES server_sets(id),
  policy_id {INT} NULL REFERENCES spam_policies(id),
  created_at {INT} NOT NULL
){OPTS}
;
CREATE INDEX domains_customer ON domains(customer_id)
;
CREATE TABLE alias_domains (
  id {ID},
  source {KEY} NOT NULL UNIQUE,
  target_domain_id {INT} NOT NULL REFERENCES domains(id),
  customer_id {INT} NOT NULL REFERENCES accounts(id),
  active {INT} NOT NULL
){OPTS}
;
CREATE TABLE mailboxes (
  id {ID},
  domain_id {INT} NOT NULL REFERENCES domains(id),
  address {KEY} NOT NULL UNIQUE,
  password_hash {TEXT} NOT NULL,
  display_name {KEY} NOT NULL,
  quota_mb {INT} NOT NULL,
  spam_move {KEY} NOT NULL,
  junk_purge_days {INT} NOT NULL,
  trash_purge_days {INT} NOT NULL,
  autoresponder_enabled {INT} NOT NULL,
  autoresponder_subject {TEXT} NOT NULL,
  autoresponder_text {TEXT} NOT NULL,
  autoresponder_start {INT} NULL,
  autoresponder_end {INT} NULL,
  copy_to {TEXT} NOT NULL,
  policy_id {INT} NULL REFERENCES spam_policies(id),
  active {INT} NOT NULL,
  created_at {INT} NOT NULL
){OPTS}
;
CREATE INDEX mailboxes_domain ON mailboxes(domain_id)
;
CREATE TABLE aliases (
  id {ID},
  domain_id {INT} NOT NULL REFERENCES domains(id),
  kind {KEY} NOT NULL,
  source {KEY} NOT NULL UNIQUE,
  destinations {TEXT} NOT NULL,
  active {INT} NOT NULL
){OPTS}
;
CREATE INDEX aliases_domain ON aliases(domain_id)
;
CREATE TABLE mail_filters (
  id {ID},
  mailbox_id {INT} NOT NULL REFERENCES mailboxes(id),
  name {KEY} NOT NULL,
  field {KEY} NOT NULL,
  header_name {KEY} NOT NULL,
  matching {KEY} NOT NULL,
  value {TEXT} NOT NULL,
  action {KEY} NOT NULL,
  argument {TEXT} NOT NULL,
  position {INT} NOT NULL,
  active {INT} NOT NULL
){OPTS}
;
CREATE INDEX mail_filters_mailbox ON mail_filters(mailbox_id)
;
CREATE TABLE sites (
  id {ID},
  customer_id {INT} NOT NULL REFERENCES accounts(id),
  name {KEY} NOT NULL UNIQUE,
  log_retention_days {INT} NOT NULL,
  statistics {INT} NOT NULL
){OPTS}
;
CREATE TABLE dns_zones (
  id {ID},
  customer_id {INT} NOT NULL REFERENCES accounts(id),
  name {KEY} NOT NULL UNIQUE
){OPTS}
;
CREATE TABLE dns_records (
  id {ID},
  zone_id {INT} NOT NULL REFERENCES dns_zones(id),
  name {KEY} NOT NULL,
  rtype {KEY} NOT NULL,
  ttl {INT} NOT NULL,
  data {TEXT} NOT NULL
){OPTS}
;
CREATE INDEX dns_records_zone ON dns_records(zone_id)
;
CREATE TABLE change_log (
  id {ID},
  at {INT} NOT NULL,
  actor {KEY} NOT NULL,
  action {KEY} NOT NULL,
  object_kind {KEY} NOT NULL,
  object {KEY} NOT NULL,
  scope_reseller {INT} NULL,
  scope_customer {INT} NULL,
  old_value {TEXT} NULL,
  new_value {TEXT} NULL
){OPTS}
;
CREATE TABLE settings (
  name {KEY} NOT NULL PRIMARY KEY,
  value {TEXT} NOT NULL
){OPTS}
