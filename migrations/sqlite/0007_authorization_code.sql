-- The authorization_code grant (RFC 6749 §4.1) with PKCE (RFC 7636). Keep in step with
-- migrations/postgres/0007_authorization_code.sql: same columns, only the type names differ.

-- Registration: redirect URIs (space-separated, as the other lists; a valid one holds no space),
-- public clients (token_endpoint_auth_method "none": no secret, secret_hash stays empty), the PKCE
-- policy (may be relaxed for confidential clients only) and first-party clients (implicit consent).
alter table client add column redirect_uris text not null default '';
alter table client add column public_client boolean not null default false;
alter table client add column pkce_required boolean not null default true;
alter table client add column first_party boolean not null default false;

-- Authorization codes, stored as the SHA-256 digest of the code, never the code. One use: the
-- exchange sets consumed_at in the same atomic step that creates the grant family `family_id`
-- (chosen when the code is issued), so a second use can revoke every token issued from it.
create table authorization_code (
    code_digest        blob primary key,
    client_id          text not null references client (client_id) on delete cascade,
    username           text not null references account (username) on delete cascade,
    -- the redirect URI the response went to, and whether the request named it (then /token must
    -- repeat it, RFC 6749 section 4.1.3)
    redirect_uri       text not null,
    redirect_uri_sent  boolean not null,
    -- the S256 code challenge (RFC 7636); null only where the client's policy allowed none
    code_challenge     text,
    scope              text not null,
    -- when the user signed in
    auth_time          integer not null,
    family_id          text not null,
    issued_at          integer not null,
    expires_at         integer not null,
    consumed_at        integer
);
-- The janitor deletes codes past their expiry (and its retention), used or not.
create index authorization_code_expires_at on authorization_code (expires_at);
