//! `ip_prefixes`: the prefix lengths of the networks stored as indicators, so an address
//! search probes the address index only at the starts of networks that can exist (see the
//! migration). Lengths are in bits of the 16-byte form (an IPv4 /24 is 120); a plain address
//! (128) is always probed and never listed.

use diesel::prelude::*;

use crate::db::schema::ip_prefixes;
use crate::db::{DbConnection, WriteTx};

/// The prefix length of the network `lo..=hi` (16-byte ends), `None` for a single address
/// or ends of another size.
pub fn network_bits(lo: &[u8], hi: &[u8]) -> Option<u8> {
    let lo = u128::from_be_bytes(lo.try_into().ok()?);
    let hi = u128::from_be_bytes(hi.try_into().ok()?);
    // A network's ends differ exactly in its host bits.
    (lo != hi).then(|| u8::try_from((lo ^ hi).leading_zeros()).unwrap_or(128))
}

/// Records the lengths of networks being stored, in the writer's transaction, so a search
/// that can see a network also probes its length.
pub fn note(c: &mut WriteTx<'_>, bits: impl IntoIterator<Item = u8>) -> QueryResult<()> {
    let c = c.conn();
    let mut seen = [false; 129];
    for b in bits {
        seen[usize::from(b.min(128))] = true;
    }
    for (b, _) in seen.iter().enumerate().filter(|(_, s)| **s) {
        let insert = diesel::insert_into(ip_prefixes::table)
            .values(ip_prefixes::bits.eq(b as i64))
            .on_conflict_do_nothing();
        crate::on_backend!(c, |conn| insert.execute(conn))?;
    }
    Ok(())
}

/// Every recorded length, in bits, ascending.
pub fn stored(c: &mut DbConnection) -> QueryResult<Vec<u8>> {
    let bits: Vec<i64> = crate::on_backend!(c, |conn| ip_prefixes::table
        .select(ip_prefixes::bits)
        .order(ip_prefixes::bits)
        .load(conn))?;
    Ok(bits
        .into_iter()
        .filter_map(|b| u8::try_from(b).ok())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::network_bits;

    fn v4(a: [u8; 4]) -> [u8; 16] {
        let mut out = [0; 16];
        out[10] = 0xff;
        out[11] = 0xff;
        out[12..].copy_from_slice(&a);
        out
    }

    #[test]
    fn network_bits_are_the_prefix_of_the_16_byte_form() {
        assert_eq!(
            network_bits(&v4([10, 0, 0, 0]), &v4([10, 0, 0, 255])),
            Some(120)
        );
        assert_eq!(
            network_bits(&v4([10, 0, 0, 0]), &v4([10, 255, 255, 255])),
            Some(104)
        );
        assert_eq!(network_bits(&v4([10, 0, 0, 1]), &v4([10, 0, 0, 1])), None);
        assert_eq!(network_bits(&[0; 16], &[0xff; 16]), Some(0));
        assert_eq!(network_bits(&[0; 4], &[1; 4]), None);
    }
}
