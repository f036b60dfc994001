"""PostgreSQL: gather the statistics of ``chat_message.compliance_search`` (added by 0002) right away.

Adding a column modifies no row in PostgreSQL's eyes, so autovacuum never analyzes a table whose messages were
there before 0002: the column then has no statistics, the planner guesses 0.5% of the messages for every word, and
``selectors._probe`` (which reads the planner's estimate to tell a rare word from a common one) took common words
for rare ones. Measured by bench/oversight.py on 1,000,000 messages seeded before the migration: a common word's
first page 360 ms at the median, a word with a scanner-hit filter 430 ms, against 25 ms and 180 ms once analyzed
(60 ms with the probe's fix in selectors). ANALYZE reads a sample of 30,000 rows whatever the table's size (about a
second on a million messages). Nothing on SQLite.
"""

from django.db import migrations


def analyze(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ANALYZE chat_message")


class Migration(migrations.Migration):
    dependencies = [("compliance", "0002_message_fulltext")]

    operations = [migrations.RunPython(analyze, migrations.RunPython.noop)]
