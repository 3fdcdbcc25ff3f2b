//! Whole-machine tests: a few nodes wired together by hand, time advanced
//! explicitly, no sockets and no sleeping.
