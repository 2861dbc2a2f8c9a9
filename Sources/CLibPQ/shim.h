#include <libpq-fe.h>
// PG_DIAG_* are character-literal macros, which Swift does not import.
static const int PR_PG_DIAG_SQLSTATE = PG_DIAG_SQLSTATE;
static const int PR_PG_DIAG_MESSAGE_PRIMARY = PG_DIAG_MESSAGE_PRIMARY;
static const int PR_PG_DIAG_CONSTRAINT_NAME = PG_DIAG_CONSTRAINT_NAME;
