/* A fixed SQLite workload: tables, an index, a join, aggregates, a
 * recursive CTE, string functions and a prepared statement; every result
 * printed, then a checksum. */
#include <stdio.h>
#include <string.h>
#include "sqlite3.h"

static unsigned long sum = 5381;
static int print_row(void *unused, int n, char **values, char **names) {
  (void)unused;
  for (int i = 0; i < n; i++) {
    const char *v = values[i] ? values[i] : "NULL";
    printf("%s%s=%s", i ? " " : "", names[i], v);
    for (const char *p = v; *p; p++) sum = sum * 33 + (unsigned char)*p;
  }
  printf("\n");
  return 0;
}

static int run(sqlite3 *db, const char *sql) {
  char *err = 0;
  if (sqlite3_exec(db, sql, print_row, 0, &err) != SQLITE_OK) {
    fprintf(stderr, "sql error: %s\n", err);
    sqlite3_free(err);
    return 1;
  }
  return 0;
}

int main(void) {
  sqlite3 *db;
  if (sqlite3_open(":memory:", &db) != SQLITE_OK) return 2;
  printf("sqlite %s\n", sqlite3_libversion());
  int bad = 0;
  bad |= run(db, "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT, score REAL, grp INT);"
                 "CREATE TABLE g(grp INT PRIMARY KEY, label TEXT);"
                 "CREATE INDEX t_grp ON t(grp);");
  sqlite3_stmt *ins;
  sqlite3_prepare_v2(db, "INSERT INTO t(name, score, grp) VALUES (?, ?, ?)", -1, &ins, 0);
  run(db, "BEGIN");
  for (int i = 0; i < 5000; i++) {
    char name[32];
    snprintf(name, sizeof name, "row-%d-%x", i, i * 2654435761u);
    sqlite3_bind_text(ins, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(ins, 2, (i * 37 % 1000) / 7.0);
    sqlite3_bind_int(ins, 3, i % 17);
    sqlite3_step(ins);
    sqlite3_reset(ins);
  }
  sqlite3_finalize(ins);
  run(db, "COMMIT");
  bad |= run(db, "INSERT INTO g SELECT value, 'group ' || value FROM (WITH RECURSIVE c(value) AS (SELECT 0 UNION ALL SELECT value + 1 FROM c WHERE value < 16) SELECT value FROM c);");
  bad |= run(db, "SELECT count(*) AS n, printf('%.3f', avg(score)) AS avg, max(name) AS maxname FROM t;");
  bad |= run(db, "SELECT g.label, count(*) AS n, printf('%.2f', sum(t.score)) AS total FROM t JOIN g USING (grp) GROUP BY grp ORDER BY total DESC LIMIT 5;");
  bad |= run(db, "SELECT upper(substr(name, 1, 6)) AS s, length(name) AS l FROM t WHERE id % 997 = 0 ORDER BY id;");
  bad |= run(db, "WITH RECURSIVE fib(a, b, n) AS (SELECT 0, 1, 0 UNION ALL SELECT b, a + b, n + 1 FROM fib WHERE n < 40) SELECT max(a) AS fib40 FROM fib;");
  bad |= run(db, "DELETE FROM t WHERE grp IN (3, 5, 7); SELECT count(*) AS left FROM t;");
  sqlite3_close(db);
  printf("checksum %lu\n", sum);
  return bad;
}
