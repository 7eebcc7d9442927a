//! End-to-end tests for wiretape live in `tests/tests/`; they drive the real `wiretape`
//! binary against real files (and, later, real sockets and network namespaces).
