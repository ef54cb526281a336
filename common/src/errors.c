/* Error texts, names and exit codes, all expanded from the one list in
 * pag/errors.h, so every frontend says the same thing for the same
 * condition and exits with the documented code. */
#include <stdio.h>

#include "internal.h"

#define TEXT(name, value, text, exit) [value] = text,
static const char *const texts[PAG_ERR__COUNT] = {PAG_ERRORS(TEXT)};
#undef TEXT
#define NAME(name, value, text, exit) [value] = #name,
static const char *const names[PAG_ERR__COUNT] = {PAG_ERRORS(NAME)};
#undef NAME
#define EXIT(name, value, text, exit) [value] = PAG_EXIT_##exit,
static const unsigned char exits[PAG_ERR__COUNT] = {PAG_ERRORS(EXIT)};
#undef EXIT

const char *pag_strerror(pag_err_t err)
{
    if ((unsigned)err >= PAG_ERR__COUNT || !texts[err]) return "unknown error";
    return texts[err];
}

const char *pag_err_name(pag_err_t err)
{
    return (unsigned)err < PAG_ERR__COUNT ? names[err] : NULL;
}

int pag_exit_code(pag_err_t err)
{
    if ((unsigned)err >= PAG_ERR__COUNT || !names[err]) return PAG_EXIT_INTERNAL;
    return exits[err];
}

int pag_abi_version(void)
{
    return PAG_ABI_VERSION;
}

void pag__seterr(struct pag_errbuf *eb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(eb->msg, sizeof eb->msg, fmt, ap);
    va_end(ap);
}
