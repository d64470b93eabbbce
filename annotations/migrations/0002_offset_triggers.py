"""Database triggers for the part of the offset invariant a CHECK can't express.

A CHECK constraint sees one row, so ``quote.text == article.text[start:end]``
(which reads the article row) and "an annotated article's text never changes"
are enforced by triggers, on PostgreSQL and on SQLite alike. Both databases
count characters (code points) in ``substr`` and ``length``, as Python does.
"""

from django.db import migrations

POSTGRES_FORWARD = [
    """
    CREATE FUNCTION annotations_quote_spans_match_article() RETURNS trigger AS $$
    DECLARE
        body text;
    BEGIN
        SELECT a.text INTO body FROM annotations_article a WHERE a.id = NEW.article_id;
        IF substr(body, NEW.start + 1, NEW."end" - NEW.start) IS DISTINCT FROM NEW.text
           OR (NEW.mention_start IS NOT NULL AND substr(body, NEW.mention_start + 1,
               NEW.mention_end - NEW.mention_start) IS DISTINCT FROM NEW.mention_text)
           OR (NEW.cue_start IS NOT NULL AND substr(body, NEW.cue_start + 1,
               NEW.cue_end - NEW.cue_start) IS DISTINCT FROM NEW.cue_text)
        THEN
            RAISE EXCEPTION 'quote spans do not match the text of article % at their offsets', NEW.article_id
                USING ERRCODE = 'check_violation', CONSTRAINT = 'quote_spans_match_article';
        END IF;
        RETURN NEW;
    END;
    $$ LANGUAGE plpgsql;
    """,
    """
    CREATE TRIGGER quote_spans_match_article
    BEFORE INSERT OR UPDATE ON annotations_quote
    FOR EACH ROW EXECUTE FUNCTION annotations_quote_spans_match_article();
    """,
    """
    CREATE FUNCTION annotations_article_text_immutable() RETURNS trigger AS $$
    BEGIN
        IF NEW.text IS DISTINCT FROM OLD.text
           AND EXISTS (SELECT 1 FROM annotations_quote q WHERE q.article_id = OLD.id)
        THEN
            RAISE EXCEPTION 'the text of article % is immutable: quotes point into it', OLD.id
                USING ERRCODE = 'check_violation', CONSTRAINT = 'article_text_immutable';
        END IF;
        RETURN NEW;
    END;
    $$ LANGUAGE plpgsql;
    """,
    """
    CREATE TRIGGER article_text_immutable
    BEFORE UPDATE OF text ON annotations_article
    FOR EACH ROW EXECUTE FUNCTION annotations_article_text_immutable();
    """,
]
POSTGRES_REVERSE = [
    "DROP TRIGGER IF EXISTS article_text_immutable ON annotations_article;",
    "DROP FUNCTION IF EXISTS annotations_article_text_immutable();",
    "DROP TRIGGER IF EXISTS quote_spans_match_article ON annotations_quote;",
    "DROP FUNCTION IF EXISTS annotations_quote_spans_match_article();",
]

_SQLITE_MISMATCH = """
    (SELECT substr(a.text, NEW.start + 1, NEW."end" - NEW.start)
       FROM annotations_article a WHERE a.id = NEW.article_id) IS NOT NEW.text
    OR (NEW.mention_start IS NOT NULL AND
        (SELECT substr(a.text, NEW.mention_start + 1, NEW.mention_end - NEW.mention_start)
           FROM annotations_article a WHERE a.id = NEW.article_id) IS NOT NEW.mention_text)
    OR (NEW.cue_start IS NOT NULL AND
        (SELECT substr(a.text, NEW.cue_start + 1, NEW.cue_end - NEW.cue_start)
           FROM annotations_article a WHERE a.id = NEW.article_id) IS NOT NEW.cue_text)
"""
SQLITE_FORWARD = [
    f"""
    CREATE TRIGGER quote_spans_match_article_insert BEFORE INSERT ON annotations_quote
    WHEN {_SQLITE_MISMATCH}
    BEGIN SELECT RAISE(ABORT, 'quote_spans_match_article: quote spans do not match the article text'); END;
    """,
    f"""
    CREATE TRIGGER quote_spans_match_article_update BEFORE UPDATE ON annotations_quote
    WHEN {_SQLITE_MISMATCH}
    BEGIN SELECT RAISE(ABORT, 'quote_spans_match_article: quote spans do not match the article text'); END;
    """,
    """
    CREATE TRIGGER article_text_immutable BEFORE UPDATE OF text ON annotations_article
    WHEN NEW.text IS NOT OLD.text
     AND EXISTS (SELECT 1 FROM annotations_quote q WHERE q.article_id = OLD.id)
    BEGIN SELECT RAISE(ABORT, 'article_text_immutable: quotes point into this text'); END;
    """,
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS quote_spans_match_article_insert;",
    "DROP TRIGGER IF EXISTS quote_spans_match_article_update;",
    "DROP TRIGGER IF EXISTS article_text_immutable;",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        statements = statements_by_vendor.get(schema_editor.connection.vendor)
        if statements is None:
            raise RuntimeError(f"Demarche supports PostgreSQL and SQLite, not {schema_editor.connection.vendor}.")
        for statement in statements:
            schema_editor.execute(statement, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [("annotations", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": POSTGRES_FORWARD, "sqlite": SQLITE_FORWARD}),
            _run({"postgresql": POSTGRES_REVERSE, "sqlite": SQLITE_REVERSE}),
        ),
    ]
