-- Lexical search over error templates and known error patterns (the words
-- half of find_similar_errors' and match_error_patterns' hybrid ranking).
-- Each row's terms are materialized by ClickHouse from its text, with the
-- analyzer of internal/search (words lower-cased, whole and split at case
-- changes, underscores and dots; template placeholders dropped), so every
-- writer gets them and no writer needs to know: the clickhouse_vector
-- exporter, a ClickHouse Cloud ingest, or an INSERT by hand.
--   search_terms           everything the row says (template or message, and its example)
--   search_template_terms  the template's (the pattern's signature and message) alone
--   search_type_terms      the error class the text leads with ("nullpointerexception", "null", "pointer", …)
-- A text index on search_terms answers which rows hold any of a query's
-- terms (hasAny), so ranking reads only those; the scores (BM25 with the
-- query's document frequencies) are computed over them in the query.
-- Changing the analyzer takes a new migration (MODIFY COLUMN): rows keep the
-- terms they were written with. Text indexes are generally available from
-- ClickHouse 26.2; on 25.12–26.1 the statement's enable_full_text_index
-- allows them (the index only speeds the search up; its GRANULARITY is fixed
-- by the server).

ALTER TABLE {{.DB}}.log_templates {{.OnCluster}}
    ADD COLUMN IF NOT EXISTS search_terms Array(String) MATERIALIZED {{.Terms "concat(template, ' ', example_body)"}},
    ADD COLUMN IF NOT EXISTS search_template_terms Array(String) MATERIALIZED {{.Terms "template"}},
    ADD COLUMN IF NOT EXISTS search_type_terms Array(String) MATERIALIZED {{.TypeTerms "template"}};

ALTER TABLE {{.DB}}.log_templates {{.OnCluster}}
    ADD INDEX IF NOT EXISTS search_idx search_terms TYPE text(tokenizer = array) GRANULARITY 100000000
    SETTINGS enable_full_text_index = 1;

ALTER TABLE {{.DB}}.error_patterns {{.OnCluster}}
    ADD COLUMN IF NOT EXISTS search_terms Array(String) MATERIALIZED {{.Terms "concat(replaceAll(error_signature, '_', ' '), ' ', error_message, ' ', root_cause)"}},
    ADD COLUMN IF NOT EXISTS search_template_terms Array(String) MATERIALIZED {{.Terms "concat(replaceAll(error_signature, '_', ' '), ' ', error_message)"}},
    ADD COLUMN IF NOT EXISTS search_type_terms Array(String) MATERIALIZED {{.TypeTerms "error_message"}};

ALTER TABLE {{.DB}}.error_patterns {{.OnCluster}}
    ADD INDEX IF NOT EXISTS search_idx search_terms TYPE text(tokenizer = array) GRANULARITY 100000000
    SETTINGS enable_full_text_index = 1;
