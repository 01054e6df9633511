// Tests that pass natively but not in the HRT, each for a reason hvm/README.md explains
// ("CPython's regression tests in the HRT"). The report marks them, and the e2e test accepts
// them and nothing else. A test id is regrtest's (module.Class.method).
export interface Exception {
  id: string;
  reason: string;
}

export const EXCEPTIONS: Exception[] = [];

export const isException = (id: string) => EXCEPTIONS.some((e) => e.id === id.replace(/#\d+$/, ''));
