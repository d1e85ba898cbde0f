-- What the web chat says first and what a customer is told when their conversation is
-- resolved (issue 16), per brand and language. A brand without its own text for a language
-- gets the default words (server/store/brand_texts.py); a row is a brand's own wording.
CREATE TABLE brand_messages (
    brand_id    uuid NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('greeting', 'closing')),
    language    text NOT NULL CHECK (language ~ '^[a-z]{2}$'),
    text        text NOT NULL CHECK (length(text) BETWEEN 1 AND 2000),
    updated_by  uuid REFERENCES agents(id) ON DELETE SET NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (brand_id, kind, language)
);
