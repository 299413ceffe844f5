/* Echo argv[1..] and the ELFJIT_T_* environment; exit status = argc.
 *
 * argv[0] is skipped because it names a different file for each build. Only the ELFJIT_T_
 * prefix is shown (sorted), so whatever else the runner puts in the environment is ignored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int main(int argc, char **argv)
{
    printf("argc=%d\n", argc);
    for (int i = 1; i < argc; i++)
        printf("argv[%d]=[%s] len=%zu\n", i, argv[i], strlen(argv[i]));
    printf("argv[argc]=%s\n", argv[argc] == NULL ? "NULL" : "non-NULL");

    const char *picked[64];
    int n = 0;
    for (char **e = environ; *e != NULL && n < 64; e++)
        if (strncmp(*e, "ELFJIT_T_", 9) == 0)
            picked[n++] = *e;
    qsort(picked, n, sizeof picked[0], cmp_str);
    for (int i = 0; i < n; i++)
        printf("env %s\n", picked[i]);

    const char *v = getenv("ELFJIT_T_ALPHA");
    printf("getenv(ELFJIT_T_ALPHA)=%s\n", v ? v : "(unset)");
    v = getenv("ELFJIT_T_UNSET");
    printf("getenv(ELFJIT_T_UNSET)=%s\n", v ? v : "(unset)");
    return argc;
}
