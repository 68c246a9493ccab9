--liquibase formatted sql

--changeset platform:1 labels:core
CREATE TABLE invoices (
    id integer PRIMARY KEY,
    customer_id integer NOT NULL,
    issued_on date NOT NULL,
    currency char(3) NOT NULL,
    total_cents integer NOT NULL
);
--rollback DROP TABLE invoices;

--changeset platform:2 labels:core
-- Four columns: more than the 3 the forecast allows (index-too-many-columns).
CREATE INDEX invoices_lookup ON invoices (customer_id, issued_on, currency, total_cents);
--rollback DROP INDEX invoices_lookup;

--changeset platform:3 labels:slow
-- A backfill kept out of this run by the label expression "core and !slow".
UPDATE invoices SET currency = 'EUR' WHERE currency = '';
