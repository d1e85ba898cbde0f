-- What retention does to a brand's conversations past retention_days (issue 15): anonymise
-- them (the default, what 0011 did: tombstones, the conversations kept as counts for the
-- reports) or delete them outright (nothing left, the reports' counts included).
ALTER TABLE brands
    ADD COLUMN retention_action text NOT NULL DEFAULT 'anonymise'
        CHECK (retention_action IN ('anonymise', 'delete'));
