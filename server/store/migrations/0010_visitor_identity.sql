-- Who vouches for a contact. A name or email typed into the web chat widget is self-asserted:
-- such a contact is unverified, shown so in the console, never found by its email (so no mail,
-- Telegram or Slack sender, and no later visitor, is joined to it) and never renamed by what
-- another visitor types. Mail, Telegram and Slack senders, a visitor the embedding site vouches
-- for with an HMAC (the inbox's settings->>'identity_secret'), and a contact an agent linked to
-- a verified one are verified.
ALTER TABLE contacts ADD COLUMN verified boolean NOT NULL DEFAULT true;

-- Until now every widget visitor who typed nothing got a contact of their own, and one who
-- typed a known email was joined to that contact: contacts that only the widget ever reached
-- were made from what visitors typed.
UPDATE contacts c SET verified = false
 WHERE EXISTS (SELECT 1 FROM contact_identities i
                WHERE i.contact_id = c.id AND i.channel = 'webchat')
   AND NOT EXISTS (SELECT 1 FROM contact_identities i
                    WHERE i.contact_id = c.id AND i.channel <> 'webchat');
