-- The reports (issue 20, server/store/analytics.py) read a brand's conversations created in
-- a date range, then each one's knowledge-base verdicts: without these, every report scans
-- every conversation, and every verdict per conversation.
CREATE INDEX conversations_brand_created ON conversations (brand_id, created_at);
CREATE INDEX kb_article_outcomes_conversation ON kb_article_outcomes (conversation_id);
