DROP VIEW IF EXISTS open_orders;
CREATE VIEW open_orders AS
    SELECT o.id, c.email, o.total_cents, o.placed_at
    FROM orders o JOIN customers c ON c.id = o.customer_id
    WHERE o.status <> 'shipped';
