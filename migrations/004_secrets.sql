-- 004: the secrets store (the real provider keys the gateway uses, kept away from agent processes) and its
-- audit log. A value is sealed in the kage process (AES-256-GCM, src/secrets/cipher.ts), so PostgreSQL only
-- ever sees ciphertext; each row keeps its own IV and tag, and key_id, the fingerprint of the master key
-- that sealed it: rows stay readable under whichever key sealed them while a rotation is pending, and a
-- wrong key is told from an altered row.
-- secret_audit has one row per read (in the read's transaction), set, removal and rotation; it has no
-- foreign keys, so it outlives the secrets, tasks and clones it names.

create table secrets (
  name         text primary key check (name ~ '^[A-Za-z0-9_./-]{1,128}$'),
  ciphertext   bytea not null,
  iv           bytea not null check (octet_length(iv) = 12),
  auth_tag     bytea not null check (octet_length(auth_tag) = 16),
  key_id       text not null,
  created_at   timestamptz not null default now(),
  updated_at   timestamptz not null default now(),
  last_read_at timestamptz,
  read_count   bigint not null default 0
);

create table secret_audit (
  id       bigserial primary key,
  at       timestamptz not null default now(),
  action   text not null check (action in ('read', 'set', 'remove', 'rotate')),
  name     text,
  actor    text not null,
  task_id  uuid,
  clone_id uuid,
  origin   text not null,
  error    text,
  detail   text
);
create index secret_audit_name_idx on secret_audit (name, id);
