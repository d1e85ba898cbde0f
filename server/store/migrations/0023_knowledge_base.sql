-- The knowledge base (issue 18): articles per brand and language, every saved version, and
-- the chunks search reads. A chunk is one heading's section (or a few paragraphs of a long
-- one) with the article's title in front, so a question matches the part of an article that
-- answers it; each chunk carries its words (tsvector, in the article language's text-search
-- configuration) and a vector (the WordLlama vectors message_embeddings uses, 256
-- dimensions; ``model`` names what made it, so a change of model re-embeds rather than mixing
-- spaces).
CREATE TABLE kb_articles (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    brand_id     uuid NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
    language     text NOT NULL CHECK (language ~ '^[a-z]{2,3}$'),
    -- The help center's address of the article: /help/<brand>/<language>/<slug>.
    slug         text NOT NULL CHECK (slug ~ '^[a-z0-9][a-z0-9-]{0,99}$'),
    title        text NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
    body         text NOT NULL CHECK (length(body) <= 200000),  -- Markdown, as written
    category     text NOT NULL DEFAULT '' CHECK (length(category) <= 100),
    tags         text[] NOT NULL DEFAULT '{}',
    status       text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published')),
    version      integer NOT NULL DEFAULT 1,
    -- Who saved the current version: an agent, or a name (an import has no agent).
    author_id    uuid REFERENCES agents(id) ON DELETE SET NULL,
    author_name  text NOT NULL DEFAULT '',
    -- Where an imported article came from ("zendesk:360001", a file's name): a second import
    -- of the same export updates instead of duplicating.
    source       text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz,
    UNIQUE (brand_id, language, slug)
);
CREATE UNIQUE INDEX kb_articles_source ON kb_articles (brand_id, source) WHERE source IS NOT NULL;
CREATE INDEX kb_articles_listing ON kb_articles (brand_id, language, status, category);

-- Every saved state of an article, the current one included, with who saved it.
CREATE TABLE kb_article_versions (
    article_id  uuid NOT NULL REFERENCES kb_articles(id) ON DELETE CASCADE,
    version     integer NOT NULL,
    title       text NOT NULL,
    body        text NOT NULL,
    category    text NOT NULL,
    tags        text[] NOT NULL,
    status      text NOT NULL,
    author_id   uuid REFERENCES agents(id) ON DELETE SET NULL,
    author_name text NOT NULL,
    saved_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (article_id, version)
);

CREATE TABLE kb_chunks (
    id          bigserial PRIMARY KEY,
    article_id  uuid NOT NULL REFERENCES kb_articles(id) ON DELETE CASCADE,
    -- Copied from the article so that search filters chunks without a join.
    brand_id    uuid NOT NULL REFERENCES brands(id) ON DELETE CASCADE,
    language    text NOT NULL,
    position    integer NOT NULL,
    title       text NOT NULL,  -- the article's, so a title word counts in every chunk
    heading     text NOT NULL DEFAULT '',
    text        text NOT NULL,
    -- english, french or simple: how this chunk's words are stemmed and which are stop words.
    config      regconfig NOT NULL,
    -- Title words weigh most (A), then the section's heading (B), then its text (D).
    words       tsvector GENERATED ALWAYS AS (
                    setweight(to_tsvector(config, title), 'A')
                    || setweight(to_tsvector(config, heading), 'B')
                    || to_tsvector(config, text)) STORED,
    model       text NOT NULL,
    embedding   vector(256) NOT NULL,
    UNIQUE (article_id, position)
);
CREATE INDEX kb_chunks_words ON kb_chunks USING gin (words);
-- Cosine distance (<=>), nearest first; pgvector's defaults (m 16, ef_construction 64).
CREATE INDEX kb_chunks_nearest ON kb_chunks USING hnsw (embedding vector_cosine_ops);
CREATE INDEX kb_chunks_scope ON kb_chunks (brand_id, language);
