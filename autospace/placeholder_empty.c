/* Keeps the library non-empty while autospace/ is being built up. */
int asvk_autospace_linked = 1;
