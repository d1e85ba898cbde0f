-- What agents keep about a customer (issue 16): a phone number, notes for colleagues, labels
-- ("wholesale", "press") and the time zone when known, edited from the context panel.
ALTER TABLE contacts
    ADD COLUMN phone     text,
    ADD COLUMN notes     text,
    ADD COLUMN labels    text[] NOT NULL DEFAULT '{}',
    ADD COLUMN time_zone text;
CREATE INDEX contacts_phone ON contacts (brand_id, phone) WHERE phone IS NOT NULL;
