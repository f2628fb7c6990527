/* Tokenizer and small parse/print helpers shared by the graph IR and loop IR text forms.
 *
 * Internal to ir/ (graph_text.c, loop_text.c); not part of the public IR API.
 *
 * The lexer streams tokens on demand (one token of lookahead), so a constant printed with
 * elide_above = -1 and millions of elements parses without a token array.
 *
 * Tokens: identifiers [A-Za-z_][A-Za-z0-9_.]*, %name and @name (bare [A-Za-z0-9_.]+ or a
 * quoted string), "strings" with C escapes (\\ \" \n \t \r \xHH), unsigned numbers
 * (INT: digits; FLOAT: digits with '.' and/or an exponent), punctuation (longest match:
 * == != <= >= && || += *= -> ::, single characters otherwise). '#' starts a comment that runs
 * to the end of the line.
 */
#ifndef DLC_IR_LEXER_H
#define DLC_IR_LEXER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ir/common.h"
#include "runtime/runtime.h"
#include "support/support.h"

typedef enum dlc_tok_kind {
    DLC_TOK_EOF,
    DLC_TOK_IDENT,
    DLC_TOK_PCT,    /* %name: str is the decoded name */
    DLC_TOK_AT,     /* @name: str is the decoded name */
    DLC_TOK_STRING, /* "...": str is the decoded string */
    DLC_TOK_INT,
    DLC_TOK_FLOAT,
    DLC_TOK_PUNCT,
} dlc_tok_kind;

typedef struct dlc_token {
    dlc_tok_kind kind;
    const char *start; /* slice of the source text */
    size_t len;
    char *str;         /* PCT/AT/STRING: decoded, NUL-terminated, owned by the token */
    int line, col;     /* 1-based */
} dlc_token;

/* Parser state: the lexer position plus the current (lookahead) token. The first error wins;
 * once `failed` is set every helper returns failure. */
typedef struct dlc_parser {
    const char *what;
    const char *src, *pos;
    int line, col;
    dlc_token cur;
    dlc_error *err;
    bool failed;
    int depth; /* nesting depth, bounded so hostile input cannot overflow the stack */
} dlc_parser;

#define DLC_PARSE_MAX_DEPTH 500

/* Starts parsing `text` (reads the first token). Returns false on a lexical error. */
bool dlc_parser_init(dlc_parser *p, const char *text, const char *what, dlc_error *err);
void dlc_parser_fini(dlc_parser *p);
/* Moves to the next token (frees the current token's string). */
bool dlc_parser_advance(dlc_parser *p);
/* True if the current token is the punctuation or identifier `s`. */
bool dlc_parser_is(const dlc_parser *p, const char *s);
/* Consumes the current token if it is `s`. */
bool dlc_parser_accept(dlc_parser *p, const char *s);
/* Consumes `s` or fails with "expected 's', got ...". */
bool dlc_parser_expect(dlc_parser *p, const char *s);
/* Fails with "WHAT:L:C: expected <what>, got <current token>" (at the current token). */
bool dlc_parser_fail_expected(dlc_parser *p, const char *expected);
/* Fails with "WHAT:L:C: <message>" at (line, col). */
bool dlc_parser_fail_at(dlc_parser *p, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Takes the decoded string of the current PCT/AT/STRING token (caller frees) and advances. */
char *dlc_parser_take_str(dlc_parser *p);
/* Expects a %name (or @name when at) and returns it (caller frees); NULL on failure. */
char *dlc_parser_expect_name(dlc_parser *p, bool at, const char *expected);
/* Expects a dtype identifier. */
bool dlc_parser_expect_dtype(dlc_parser *p, dlc_dtype *out);
/* Integer literal with optional leading '-', in [lo, hi]. */
bool dlc_parser_expect_int(dlc_parser *p, int64_t lo, int64_t hi, int64_t *out);
/* A static type `dtype[d0,d1,...]` with every dimension known (`f32[]` is rank 0). */
bool dlc_parser_static_type(dlc_parser *p, dlc_dtype *dt, int *rank, int64_t *dims);
/* loc("name") if present: *origin is set (caller frees) or left NULL. */
bool dlc_parser_opt_loc(dlc_parser *p, char **origin);

/* Constant data: `dense<elided>` (*t = NULL, *elided = true) or `dense<[v, v, ...]>` with
 * exactly numel(dtype, rank, dims) elements, parsed bit-exactly. */
bool dlc_parser_dense(dlc_parser *p, dlc_dtype dtype, int rank, const int64_t *dims,
                      dlc_tensor **t, bool *elided);
/* Just the `[v, v, ...]` part. */
bool dlc_parser_dense_list(dlc_parser *p, dlc_dtype dtype, int rank, const int64_t *dims,
                           dlc_tensor **t);
/* One element of the given dtype into *f (floats, already rounded to the type) or *i. */
bool dlc_parser_number(dlc_parser *p, dlc_dtype dtype, double *f, int64_t *i);
/* The same after the caller consumed a '-' (neg) that started at (line, col). Not for bool. */
bool dlc_parser_number_neg(dlc_parser *p, dlc_dtype dtype, bool neg, int line, int col,
                           double *f, int64_t *i);

/* Copies the current number token (INT, FLOAT, inf or nan) into buf and advances; *is_int
 * tells an INT token. */
bool dlc_parser_number_text(dlc_parser *p, char *buf, size_t size, bool *is_int);
/* Converts number text (as above, negated if neg) to a value of dtype: floats rounded to the
 * type into *f, integers range-checked into *i (u64 as its bit pattern). On failure writes
 * the reason to why and returns false. */
bool dlc_text_number(const char *text, bool is_int, bool neg, dlc_dtype dtype, double *f,
                     int64_t *i, char *why, size_t whysize);

/* ---- printing helpers ---- */

/* `prefix` followed by the name, bare or quoted (dlc_ir_name_is_bare). */
void dlc_text_print_name(dlc_strbuf *sb, const char *prefix, const char *name);
/* A quoted string with C escapes. */
void dlc_text_print_string(dlc_strbuf *sb, const char *s);
/* Shortest decimal text that reads back to exactly v: f64 for DLC_F64, f32 otherwise (f16
 * and bf16 values are exact in f32). Always looks like a float ('.', 'e', inf or nan). */
void dlc_text_format_float(char *buf, size_t size, double v, dlc_dtype dtype);
/* Element k of t in text form (floats as above, ints in decimal, bools true/false). */
void dlc_text_print_element(dlc_strbuf *sb, const dlc_tensor *t, int64_t k);
/* dense<elided> or dense<[...]>, following opts->elide_above. t may be NULL (elided). */
void dlc_text_print_dense(dlc_strbuf *sb, const dlc_tensor *t, const dlc_print_options *opts);
/* Rounds v to what a value of `dtype` can hold (f32/f16/bf16); identity for f64. */
double dlc_text_round_float(double v, dlc_dtype dtype);

#endif
