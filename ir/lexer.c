/* Tokenizer and helpers shared by the graph IR and loop IR text parsers and printers. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir/lexer.h"

static bool is_ident_start(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_ident_char(char c) { return is_ident_start(c) || is_digit(c) || c == '.'; }

/* ---- errors ---- */

bool dlc_parser_fail_at(dlc_parser *p, int line, int col, const char *fmt, ...) {
    if (!p->failed) {
        char msg[DLC_ERROR_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        dlc_error_set(p->err, "%s:%d:%d: %s", p->what, line, col, msg);
        p->failed = true;
    }
    return false;
}

/* "'foo'" or "end of input", for "got ..." in messages. */
static void describe_token(const dlc_token *t, char *buf, size_t size) {
    if (t->kind == DLC_TOK_EOF) {
        snprintf(buf, size, "end of input");
        return;
    }
    size_t n = t->len > 24 ? 24 : t->len;
    char text[80];
    size_t k = 0;
    for (size_t i = 0; i < n && k + 5 < sizeof text; i++) {
        unsigned char c = (unsigned char)t->start[i];
        if (c < 0x20 || c == 0x7f) k += (size_t)snprintf(text + k, sizeof text - k, "\\x%02x", c);
        else text[k++] = (char)c;
    }
    text[k] = 0;
    snprintf(buf, size, "'%s%s'", text, t->len > n ? "..." : "");
}

bool dlc_parser_fail_expected(dlc_parser *p, const char *expected) {
    char got[128];
    describe_token(&p->cur, got, sizeof got);
    return dlc_parser_fail_at(p, p->cur.line, p->cur.col, "expected %s, got %s", expected, got);
}

/* ---- lexing ---- */

static void lx_bump(dlc_parser *p) {
    if (*p->pos == '\n') {
        p->line++;
        p->col = 1;
    } else {
        p->col++;
    }
    p->pos++;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Reads a quoted string at p->pos (on the opening quote) into a fresh buffer. */
static char *lex_string(dlc_parser *p) {
    int line = p->line, col = p->col;
    lx_bump(p); /* opening quote */
    DLC_VEC(char) sb = {0};
    for (;;) {
        char c = *p->pos;
        if (c == 0 || c == '\n') {
            dlc_vec_free(&sb);
            dlc_parser_fail_at(p, line, col, "expected '\"' closing the string, got %s",
                               c ? "end of line" : "end of input");
            return NULL;
        }
        if (c == '"') {
            lx_bump(p);
            break;
        }
        if (c == '\\') {
            int el = p->line, ec = p->col;
            lx_bump(p);
            char e = *p->pos;
            char out;
            switch (e) {
            case '\\': out = '\\'; break;
            case '"': out = '"'; break;
            case 'n': out = '\n'; break;
            case 't': out = '\t'; break;
            case 'r': out = '\r'; break;
            case 'x': {
                int h1 = hexval(p->pos[1]), h2 = h1 >= 0 ? hexval(p->pos[2]) : -1;
                if (h1 < 0 || h2 < 0 || (h1 == 0 && h2 == 0)) {
                    dlc_vec_free(&sb);
                    dlc_parser_fail_at(p, el, ec, "expected two hex digits (not 00) after \\x");
                    return NULL;
                }
                out = (char)(h1 * 16 + h2);
                lx_bump(p);
                lx_bump(p);
                break;
            }
            default:
                dlc_vec_free(&sb);
                dlc_parser_fail_at(p, el, ec, "expected an escape (\\\\ \\\" \\n \\t \\r \\xHH), got '\\%c'",
                                   (e >= 0x20 && e < 0x7f) ? e : '?');
                return NULL;
            }
            lx_bump(p);
            dlc_vec_push(&sb, out);
            continue;
        }
        dlc_vec_push(&sb, c);
        lx_bump(p);
    }
    dlc_vec_push(&sb, 0);
    return sb.data;
}

static const char *const puncts2[] = {"==", "!=", "<=", ">=", "&&", "||", "+=", "*=", "->", "::"};
static const char puncts1[] = "()[]{}<>,:=+-*/!?";

static bool lex_next(dlc_parser *p) {
    dlc_token *t = &p->cur;
    free(t->str);
    memset(t, 0, sizeof *t);
    /* skip white space and comments */
    for (;;) {
        char c = *p->pos;
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') lx_bump(p);
        else if (c == '#') while (*p->pos && *p->pos != '\n') lx_bump(p);
        else break;
    }
    t->start = p->pos;
    t->line = p->line;
    t->col = p->col;
    char c = *p->pos;
    if (c == 0) {
        t->kind = DLC_TOK_EOF;
        return true;
    }
    if (is_ident_start(c)) {
        while (is_ident_char(*p->pos)) lx_bump(p);
        t->kind = DLC_TOK_IDENT;
    } else if (is_digit(c)) {
        while (is_digit(*p->pos)) lx_bump(p);
        t->kind = DLC_TOK_INT;
        if (*p->pos == '.') {
            t->kind = DLC_TOK_FLOAT;
            lx_bump(p);
            while (is_digit(*p->pos)) lx_bump(p);
        }
        if (*p->pos == 'e' || *p->pos == 'E') {
            const char *q = p->pos + 1;
            if (*q == '+' || *q == '-') q++;
            if (is_digit(*q)) {
                t->kind = DLC_TOK_FLOAT;
                while (p->pos < q) lx_bump(p);
                while (is_digit(*p->pos)) lx_bump(p);
            }
        }
        if (is_ident_char(*p->pos))
            return dlc_parser_fail_at(p, p->line, p->col, "expected a delimiter after number, got '%c'",
                                      *p->pos);
    } else if (c == '%' || c == '@') {
        t->kind = c == '%' ? DLC_TOK_PCT : DLC_TOK_AT;
        lx_bump(p);
        if (*p->pos == '"') {
            t->str = lex_string(p);
            if (!t->str) return false;
        } else {
            const char *s = p->pos;
            while (is_ident_char(*p->pos)) lx_bump(p);
            if (p->pos == s)
                return dlc_parser_fail_at(p, t->line, t->col,
                                          "expected a name or a quoted name after '%c'", c);
            t->str = dlc_xmalloc((size_t)(p->pos - s) + 1);
            memcpy(t->str, s, (size_t)(p->pos - s));
            t->str[p->pos - s] = 0;
        }
    } else if (c == '"') {
        t->kind = DLC_TOK_STRING;
        t->str = lex_string(p);
        if (!t->str) return false;
    } else {
        t->kind = DLC_TOK_PUNCT;
        for (size_t i = 0; i < sizeof puncts2 / sizeof *puncts2; i++)
            if (p->pos[0] == puncts2[i][0] && p->pos[1] == puncts2[i][1]) {
                lx_bump(p);
                lx_bump(p);
                t->len = 2;
                return true;
            }
        if (!strchr(puncts1, c))
            return dlc_parser_fail_at(p, p->line, p->col, "unexpected character %s%c%s",
                                      (c >= 0x20 && c < 0x7f) ? "'" : "0x",
                                      (c >= 0x20 && c < 0x7f) ? c : '?',
                                      (c >= 0x20 && c < 0x7f) ? "'" : "");
        lx_bump(p);
    }
    t->len = (size_t)(p->pos - t->start);
    return true;
}

bool dlc_parser_init(dlc_parser *p, const char *text, const char *what, dlc_error *err) {
    memset(p, 0, sizeof *p);
    p->what = what ? what : "<input>";
    p->src = p->pos = text ? text : "";
    p->line = p->col = 1;
    p->err = err;
    return lex_next(p);
}

void dlc_parser_fini(dlc_parser *p) {
    free(p->cur.str);
    p->cur.str = NULL;
}

bool dlc_parser_advance(dlc_parser *p) {
    if (p->failed) return false;
    return lex_next(p);
}

bool dlc_parser_is(const dlc_parser *p, const char *s) {
    if (p->failed) return false;
    if (p->cur.kind != DLC_TOK_PUNCT && p->cur.kind != DLC_TOK_IDENT) return false;
    return strlen(s) == p->cur.len && memcmp(s, p->cur.start, p->cur.len) == 0;
}

bool dlc_parser_accept(dlc_parser *p, const char *s) {
    if (!dlc_parser_is(p, s)) return false;
    return dlc_parser_advance(p);
}

bool dlc_parser_expect(dlc_parser *p, const char *s) {
    if (p->failed) return false;
    if (dlc_parser_is(p, s)) return dlc_parser_advance(p);
    char want[64];
    snprintf(want, sizeof want, "'%s'", s);
    return dlc_parser_fail_expected(p, want);
}

char *dlc_parser_take_str(dlc_parser *p) {
    char *s = p->cur.str;
    p->cur.str = NULL;
    if (!dlc_parser_advance(p)) {
        free(s);
        return NULL;
    }
    return s;
}

char *dlc_parser_expect_name(dlc_parser *p, bool at, const char *expected) {
    if (p->failed) return NULL;
    if (p->cur.kind != (at ? DLC_TOK_AT : DLC_TOK_PCT)) {
        dlc_parser_fail_expected(p, expected);
        return NULL;
    }
    return dlc_parser_take_str(p);
}

bool dlc_parser_expect_dtype(dlc_parser *p, dlc_dtype *out) {
    if (p->failed) return false;
    dlc_dtype t = p->cur.kind == DLC_TOK_IDENT ? dlc_dtype_parse(p->cur.start, p->cur.len)
                                               : DLC_DTYPE_INVALID;
    if (t == DLC_DTYPE_INVALID)
        return dlc_parser_fail_expected(p, "an element type (f32 f64 f16 bf16 i8..i64 u8..u64 bool)");
    *out = t;
    return dlc_parser_advance(p);
}

/* Copies the current token's text into buf (numbers are short; longer ones are rejected). */
static bool token_text(dlc_parser *p, char *buf, size_t size) {
    if (p->cur.len + 1 > size) return dlc_parser_fail_expected(p, "a shorter number");
    memcpy(buf, p->cur.start, p->cur.len);
    buf[p->cur.len] = 0;
    return true;
}

/* Unsigned magnitude of an INT token. */
static bool int_magnitude(dlc_parser *p, uint64_t *out) {
    char buf[64];
    if (!token_text(p, buf, sizeof buf)) return false;
    errno = 0;
    unsigned long long v = strtoull(buf, NULL, 10);
    if (errno == ERANGE)
        return dlc_parser_fail_at(p, p->cur.line, p->cur.col, "integer %s is out of range", buf);
    *out = v;
    return true;
}

bool dlc_parser_expect_int(dlc_parser *p, int64_t lo, int64_t hi, int64_t *out) {
    if (p->failed) return false;
    int line = p->cur.line, col = p->cur.col;
    bool neg = dlc_parser_accept(p, "-");
    if (p->cur.kind != DLC_TOK_INT) return dlc_parser_fail_expected(p, "an integer");
    uint64_t m = 0;
    if (!int_magnitude(p, &m)) return false;
    int64_t v;
    if (neg) {
        if (m > (uint64_t)INT64_MAX + 1) goto range;
        v = m == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)m;
    } else {
        if (m > (uint64_t)INT64_MAX) goto range;
        v = (int64_t)m;
    }
    if (v < lo || v > hi) goto range;
    *out = v;
    return dlc_parser_advance(p);
range:
    return dlc_parser_fail_at(p, line, col, "expected an integer in [%" PRId64 ", %" PRId64
                              "], got %s%.*s", lo, hi, neg ? "-" : "", (int)p->cur.len, p->cur.start);
}

bool dlc_parser_opt_loc(dlc_parser *p, char **origin) {
    *origin = NULL;
    if (!dlc_parser_accept(p, "loc")) return !p->failed;
    if (!dlc_parser_expect(p, "(")) return false;
    if (p->cur.kind != DLC_TOK_STRING) return dlc_parser_fail_expected(p, "a quoted node name");
    char *s = dlc_parser_take_str(p);
    if (!s) return false;
    if (!dlc_parser_expect(p, ")")) {
        free(s);
        return false;
    }
    *origin = s;
    return true;
}

/* A static type `dtype[d, ...]` (all dims known), as in tensor attributes. */
bool dlc_parser_static_type(dlc_parser *p, dlc_dtype *dt, int *rank, int64_t *dims) {
    if (!dlc_parser_expect_dtype(p, dt) || !dlc_parser_expect(p, "[")) return false;
    *rank = 0;
    if (!dlc_parser_is(p, "]")) {
        do {
            if (*rank == DLC_MAX_RANK)
                return dlc_parser_fail_at(p, p->cur.line, p->cur.col, "rank exceeds %d",
                                          DLC_MAX_RANK);
            if (!dlc_parser_expect_int(p, 0, INT64_MAX, &dims[*rank])) return false;
            (*rank)++;
        } while (dlc_parser_accept(p, ","));
    }
    return dlc_parser_expect(p, "]");
}

double dlc_text_round_float(double v, dlc_dtype dtype) {
    switch (dtype) {
    case DLC_F32: return (double)(float)v;
    case DLC_F16: return (double)dlc_f16_to_f32(dlc_f32_to_f16((float)v));
    case DLC_BF16: return (double)dlc_bf16_to_f32(dlc_f32_to_bf16((float)v));
    default: return v;
    }
}

static const struct {
    dlc_dtype t;
    int64_t lo, hi;
} int_ranges[] = {
    {DLC_I8, INT8_MIN, INT8_MAX},    {DLC_I16, INT16_MIN, INT16_MAX},
    {DLC_I32, INT32_MIN, INT32_MAX}, {DLC_I64, INT64_MIN, INT64_MAX},
    {DLC_U8, 0, UINT8_MAX},          {DLC_U16, 0, UINT16_MAX},
    {DLC_U32, 0, UINT32_MAX},
};

bool dlc_parser_number(dlc_parser *p, dlc_dtype dtype, double *f, int64_t *i) {
    if (p->failed) return false;
    if (dtype == DLC_BOOL) {
        if (dlc_parser_accept(p, "true")) *i = 1;
        else if (dlc_parser_accept(p, "false")) *i = 0;
        else return dlc_parser_fail_expected(p, "true or false");
        return true;
    }
    int line = p->cur.line, col = p->cur.col;
    bool neg = dlc_parser_accept(p, "-");
    return dlc_parser_number_neg(p, dtype, neg, line, col, f, i);
}

bool dlc_text_number(const char *text, bool is_int, bool neg, dlc_dtype dtype, double *f,
                     int64_t *i, char *why, size_t whysize) {
    if (dlc_dtype_is_float(dtype)) {
        double v;
        if (!strcmp(text, "inf")) v = INFINITY;
        else if (!strcmp(text, "nan")) v = NAN;
        /* f32 and narrower read with strtof: rounding the decimal once is what makes the
         * shortest printed form read back to the same bits. */
        else v = dtype == DLC_F64 ? strtod(text, NULL) : (double)strtof(text, NULL);
        *f = dlc_text_round_float(neg ? -v : v, dtype);
        return true;
    }
    if (!is_int || dtype == DLC_BOOL || dtype == DLC_DTYPE_INVALID) {
        snprintf(why, whysize, "expected %s for %s, got '%s%s'",
                 dtype == DLC_BOOL ? "true or false" : "an integer", dlc_dtype_name(dtype),
                 neg ? "-" : "", text);
        return false;
    }
    errno = 0;
    unsigned long long m = strtoull(text, NULL, 10);
    bool ok = errno != ERANGE;
    int64_t v = 0;
    if (ok && dtype == DLC_U64) {
        ok = !neg || m == 0;
        v = (int64_t)m; /* bit pattern */
    } else if (ok) {
        if (neg) {
            ok = m <= (uint64_t)INT64_MAX + 1;
            v = m == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)m;
        } else {
            ok = m <= (uint64_t)INT64_MAX;
            v = (int64_t)m;
        }
        for (size_t k = 0; ok && k < sizeof int_ranges / sizeof *int_ranges; k++)
            if (int_ranges[k].t == dtype) ok = v >= int_ranges[k].lo && v <= int_ranges[k].hi;
    }
    if (!ok) {
        snprintf(why, whysize, "integer %s%s is out of range for %s", neg ? "-" : "", text,
                 dlc_dtype_name(dtype));
        return false;
    }
    *i = v;
    return true;
}

bool dlc_parser_number_text(dlc_parser *p, char *buf, size_t size, bool *is_int) {
    if (p->failed) return false;
    bool word = dlc_parser_is(p, "inf") || dlc_parser_is(p, "nan");
    if (p->cur.kind != DLC_TOK_INT && p->cur.kind != DLC_TOK_FLOAT && !word)
        return dlc_parser_fail_expected(p, "a number");
    if (!token_text(p, buf, size)) return false;
    *is_int = p->cur.kind == DLC_TOK_INT;
    return dlc_parser_advance(p);
}

bool dlc_parser_number_neg(dlc_parser *p, dlc_dtype dtype, bool neg, int line, int col,
                           double *f, int64_t *i) {
    char buf[128], why[256];
    bool is_int = false;
    if (!dlc_parser_number_text(p, buf, sizeof buf, &is_int)) return false;
    if (!dlc_text_number(buf, is_int, neg, dtype, f, i, why, sizeof why))
        return dlc_parser_fail_at(p, line, col, "%s", why);
    return true;
}

static void store_element(dlc_tensor *t, int64_t k, double f, int64_t i) {
    void *d = t->data;
    switch (t->dtype) {
    case DLC_F32: ((float *)d)[k] = (float)f; break;
    case DLC_F64: ((double *)d)[k] = f; break;
    case DLC_F16: ((uint16_t *)d)[k] = dlc_f32_to_f16((float)f); break;
    case DLC_BF16: ((uint16_t *)d)[k] = dlc_f32_to_bf16((float)f); break;
    case DLC_I8: ((int8_t *)d)[k] = (int8_t)i; break;
    case DLC_I16: ((int16_t *)d)[k] = (int16_t)i; break;
    case DLC_I32: ((int32_t *)d)[k] = (int32_t)i; break;
    case DLC_I64: ((int64_t *)d)[k] = i; break;
    case DLC_U8: ((uint8_t *)d)[k] = (uint8_t)i; break;
    case DLC_U16: ((uint16_t *)d)[k] = (uint16_t)i; break;
    case DLC_U32: ((uint32_t *)d)[k] = (uint32_t)i; break;
    case DLC_U64: ((uint64_t *)d)[k] = (uint64_t)i; break;
    case DLC_BOOL: ((uint8_t *)d)[k] = (uint8_t)(i != 0); break;
    default: break;
    }
}

bool dlc_parser_dense(dlc_parser *p, dlc_dtype dtype, int rank, const int64_t *dims,
                      dlc_tensor **t, bool *elided) {
    *t = NULL;
    *elided = false;
    if (!dlc_parser_expect(p, "dense") || !dlc_parser_expect(p, "<")) return false;
    if (dlc_parser_accept(p, "elided")) {
        *elided = true;
        return dlc_parser_expect(p, ">");
    }
    if (!dlc_parser_is(p, "[")) return dlc_parser_fail_expected(p, "'[' or 'elided'");
    if (!dlc_parser_dense_list(p, dtype, rank, dims, t)) return false;
    if (dlc_parser_expect(p, ">")) return true;
    dlc_tensor_free(*t);
    *t = NULL;
    return false;
}

bool dlc_parser_dense_list(dlc_parser *p, dlc_dtype dtype, int rank, const int64_t *dims,
                           dlc_tensor **t) {
    *t = NULL;
    if (p->failed) return false;
    int line = p->cur.line, col = p->cur.col;
    if (!dlc_parser_is(p, "[")) return dlc_parser_fail_expected(p, "'['");
    bool known = dtype != DLC_DTYPE_INVALID && rank >= 0;
    for (int d = 0; known && d < rank; d++)
        if (dims[d] < 0) known = false;
    if (!known)
        return dlc_parser_fail_at(p, line, col, "constant data needs a static type");
    dlc_error terr = {0};
    dlc_tensor *x = dlc_tensor_new(dtype, rank, dims, &terr);
    if (!x) return dlc_parser_fail_at(p, line, col, "%s", terr.msg);
    int64_t n = dlc_tensor_numel(x);
    dlc_parser_advance(p);
    int64_t k = 0;
    if (!dlc_parser_is(p, "]")) {
        for (;;) {
            if (k >= n) {
                dlc_parser_fail_at(p, p->cur.line, p->cur.col,
                                   "too many elements: the type holds %" PRId64, n);
                goto fail;
            }
            double f = 0;
            int64_t i = 0;
            if (!dlc_parser_number(p, dtype, &f, &i)) goto fail;
            store_element(x, k++, f, i);
            if (!dlc_parser_accept(p, ",")) break;
        }
    }
    if (p->failed) goto fail;
    if (!dlc_parser_is(p, "]")) {
        dlc_parser_fail_expected(p, "',' or ']'");
        goto fail;
    }
    if (k != n) {
        dlc_parser_fail_at(p, p->cur.line, p->cur.col,
                           "expected %" PRId64 " elements, got %" PRId64, n, k);
        goto fail;
    }
    if (!dlc_parser_advance(p)) goto fail;
    *t = x;
    return true;
fail:
    dlc_tensor_free(x);
    return false;
}

/* ---- printing ---- */

/* Appends n bytes without a printf round (constants can have millions of elements). */
static void sb_append(dlc_strbuf *sb, const char *s, size_t n) {
    if (sb->len + n + 1 > sb->cap) {
        size_t cap = sb->cap ? sb->cap : 256;
        while (cap < sb->len + n + 1) cap *= 2;
        sb->data = dlc_xrealloc(sb->data, cap);
        sb->cap = cap;
    }
    memcpy(sb->data + sb->len, s, n);
    sb->len += n;
    sb->data[sb->len] = 0;
}

void dlc_text_print_string(dlc_strbuf *sb, const char *s) {
    dlc_strbuf_puts(sb, "\"");
    char chunk[256];
    size_t k = 0;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (k + 8 > sizeof chunk) {
            chunk[k] = 0;
            dlc_strbuf_puts(sb, chunk);
            k = 0;
        }
        switch (*c) {
        case '\\': chunk[k++] = '\\'; chunk[k++] = '\\'; break;
        case '"': chunk[k++] = '\\'; chunk[k++] = '"'; break;
        case '\n': chunk[k++] = '\\'; chunk[k++] = 'n'; break;
        case '\t': chunk[k++] = '\\'; chunk[k++] = 't'; break;
        case '\r': chunk[k++] = '\\'; chunk[k++] = 'r'; break;
        default:
            /* control bytes escaped; UTF-8 passes through so names stay readable */
            if (*c < 0x20 || *c == 0x7f) k += (size_t)snprintf(chunk + k, 8, "\\x%02x", *c);
            else chunk[k++] = (char)*c;
        }
    }
    chunk[k] = 0;
    dlc_strbuf_puts(sb, chunk);
    dlc_strbuf_puts(sb, "\"");
}

void dlc_text_print_name(dlc_strbuf *sb, const char *prefix, const char *name) {
    dlc_strbuf_puts(sb, prefix);
    if (name && dlc_ir_name_is_bare(name)) dlc_strbuf_puts(sb, name);
    else dlc_text_print_string(sb, name ? name : "");
}

void dlc_text_format_float(char *buf, size_t size, double v, dlc_dtype dtype) {
    if (isnan(v)) {
        snprintf(buf, size, "%snan", signbit(v) ? "-" : "");
        return;
    }
    if (isinf(v)) {
        snprintf(buf, size, "%sinf", v < 0 ? "-" : "");
        return;
    }
    /* Shortest precision that reads back exactly: readable (0.1, not 0.100000001) and
     * bit-exact. Reading back succeeds for every precision above the shortest, so a binary
     * search finds it; 9 (f32) and 17 (f64) digits always suffice. */
    int lo = 1, hi = dtype == DLC_F64 ? 17 : 9;
    float x = dtype == DLC_F64 ? 0.0f : (float)dlc_text_round_float(v, dtype);
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        bool ok;
        if (dtype == DLC_F64) {
            snprintf(buf, size, "%.*g", mid, v);
            ok = strtod(buf, NULL) == v;
        } else {
            snprintf(buf, size, "%.*g", mid, (double)x);
            ok = strtof(buf, NULL) == x;
        }
        if (ok) hi = mid;
        else lo = mid + 1;
    }
    snprintf(buf, size, "%.*g", lo, dtype == DLC_F64 ? v : (double)x);
    if (!strpbrk(buf, ".eni")) {
        size_t n = strlen(buf);
        if (n + 3 <= size) memcpy(buf + n, ".0", 3);
    }
}

void dlc_text_print_element(dlc_strbuf *sb, const dlc_tensor *t, int64_t k) {
    const void *d = t->data;
    char buf[64];
    switch (t->dtype) {
    case DLC_F32: dlc_text_format_float(buf, sizeof buf, ((const float *)d)[k], DLC_F32); break;
    case DLC_F64: dlc_text_format_float(buf, sizeof buf, ((const double *)d)[k], DLC_F64); break;
    case DLC_F16:
        dlc_text_format_float(buf, sizeof buf, dlc_f16_to_f32(((const uint16_t *)d)[k]), DLC_F32);
        break;
    case DLC_BF16:
        dlc_text_format_float(buf, sizeof buf, dlc_bf16_to_f32(((const uint16_t *)d)[k]), DLC_F32);
        break;
    case DLC_I8: snprintf(buf, sizeof buf, "%d", ((const int8_t *)d)[k]); break;
    case DLC_I16: snprintf(buf, sizeof buf, "%d", ((const int16_t *)d)[k]); break;
    case DLC_I32: snprintf(buf, sizeof buf, "%" PRId32, ((const int32_t *)d)[k]); break;
    case DLC_I64: snprintf(buf, sizeof buf, "%" PRId64, ((const int64_t *)d)[k]); break;
    case DLC_U8: snprintf(buf, sizeof buf, "%u", ((const uint8_t *)d)[k]); break;
    case DLC_U16: snprintf(buf, sizeof buf, "%u", ((const uint16_t *)d)[k]); break;
    case DLC_U32: snprintf(buf, sizeof buf, "%" PRIu32, ((const uint32_t *)d)[k]); break;
    case DLC_U64: snprintf(buf, sizeof buf, "%" PRIu64, ((const uint64_t *)d)[k]); break;
    case DLC_BOOL: snprintf(buf, sizeof buf, "%s", ((const uint8_t *)d)[k] ? "true" : "false"); break;
    default: snprintf(buf, sizeof buf, "?"); break;
    }
    sb_append(sb, buf, strlen(buf));
}

void dlc_text_print_dense(dlc_strbuf *sb, const dlc_tensor *t, const dlc_print_options *opts) {
    int64_t elide = opts ? opts->elide_above : DLC_PRINT_DEFAULT_ELIDE;
    if (!t || !t->data || (elide >= 0 && dlc_tensor_numel(t) > elide)) {
        dlc_strbuf_puts(sb, "dense<elided>");
        return;
    }
    dlc_strbuf_puts(sb, "dense<[");
    int64_t n = dlc_tensor_numel(t);
    for (int64_t k = 0; k < n; k++) {
        if (k) sb_append(sb, ", ", 2);
        dlc_text_print_element(sb, t, k);
    }
    dlc_strbuf_puts(sb, "]>");
}
