//! The one integration-test binary. Each module tests one part of the product against real
//! peers (databases, Postfix, Dovecot, SpamAssassin) that `scripts/test` installs and starts.

mod architecture;
mod mailstack;
mod support;
