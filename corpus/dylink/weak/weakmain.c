/* Weak undefined symbols (weld only: wasm-tools 1.263 refuses them). */
void weak_report(void);
int main(void) { weak_report(); return 0; }
