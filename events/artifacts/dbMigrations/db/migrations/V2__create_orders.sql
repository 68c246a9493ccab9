CREATE TABLE orders (
    id integer PRIMARY KEY,
    customer_id integer NOT NULL REFERENCES customers (id),
    status varchar(20) NOT NULL DEFAULT 'new',
    total_cents integer NOT NULL,
    placed_at timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE INDEX orders_customer_status_placed ON orders (customer_id, status, placed_at);
