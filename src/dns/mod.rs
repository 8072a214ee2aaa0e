//! DNS: what mail domains need published. Only the pure record list lives here so far; zone
//! storage and serving belong to the store and apply parts.

pub mod records;
