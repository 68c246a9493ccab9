-- Nullable, so existing rows need no default.
ALTER TABLE customers ADD COLUMN phone varchar(40);
