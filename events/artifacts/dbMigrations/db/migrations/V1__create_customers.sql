CREATE TABLE customers (
    id integer PRIMARY KEY,
    email varchar(320) NOT NULL UNIQUE,
    name varchar(200) NOT NULL,
    created_at timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP
);
