-- Labels on conversations (issue 16): free words agents tag a conversation with ("refund",
-- "bug-42"), as Zendesk's tags are, kept lowercase; a brand's labels are the ones its
-- conversations carry. The console filters its lists by them.
ALTER TABLE conversations ADD COLUMN labels text[] NOT NULL DEFAULT '{}';
CREATE INDEX conversations_labels ON conversations USING gin (labels);
