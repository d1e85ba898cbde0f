-- The bot studio's versions (issue 19, server/store/bot_versions.py): every save of the Rasa
-- project from the console, with its author, message and each changed file's text before and
-- after. The files on disk stay the truth: a version records what one save did to them, and a
-- rollback is itself a new version. `project` is the project folder's path, so a server
-- pointed at another project (SWITCHBOARD_NLU_PROJECT) lists only that project's versions.
CREATE TABLE bot_versions (
    id           bigserial PRIMARY KEY,
    project      text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    author_id    uuid REFERENCES agents(id) ON DELETE SET NULL,
    author_name  text NOT NULL,
    message      text NOT NULL,
    summary      text NOT NULL,
    restores     bigint REFERENCES bot_versions(id) ON DELETE SET NULL
);
CREATE INDEX bot_versions_by_project ON bot_versions (project, id DESC);

CREATE TABLE bot_version_files (
    version_id  bigint NOT NULL REFERENCES bot_versions(id) ON DELETE CASCADE,
    path        text NOT NULL,  -- relative to the project folder
    before      text,           -- NULL: the file did not exist
    after       text,           -- NULL: the save removed it
    PRIMARY KEY (version_id, path)
);
