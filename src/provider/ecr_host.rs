//! Amazon ECR registry host names: which account and region a registry key names. Pure, so
//! that `add` checks `--registry` and `get` finds the region with the same rule.

use crate::host::Key;

/// The AWS partitions an ECR registry host can name, each with its own DNS suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Partition {
    /// `amazonaws.com`: the commercial regions and AWS GovCloud (US).
    Aws,
    /// `amazonaws.com.cn`: Beijing and Ningxia.
    China,
}

impl Partition {
    pub fn dns_suffix(self) -> &'static str {
        match self {
            Partition::Aws => "amazonaws.com",
            Partition::China => "amazonaws.com.cn",
        }
    }
}

/// A private ECR registry, from its host name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registry {
    /// The 12-digit AWS account id that owns the registry.
    pub account: String,
    /// The region, e.g. `eu-west-1`: it picks the API endpoint and the signing scope.
    pub region: String,
    /// `dkr.ecr-fips`: the registry's FIPS endpoint, so the API's FIPS endpoint too.
    pub fips: bool,
    pub partition: Partition,
}

impl Registry {
    /// The registry's host name, as messages show it.
    pub fn host(&self) -> String {
        let fips = if self.fips { "-fips" } else { "" };
        format!(
            "{}.dkr.ecr{fips}.{}.{}",
            self.account,
            self.region,
            self.partition.dns_suffix()
        )
    }

    /// The public API host for this registry: `api.ecr.REGION.amazonaws.com[.cn]`, or for
    /// a FIPS registry `ecr-fips.REGION.amazonaws.com` (the host the AWS SDKs pick when told
    /// to use FIPS endpoints, as amazon-ecr-credential-helper does for these registries).
    pub fn api_host(&self) -> String {
        let suffix = self.partition.dns_suffix();
        if self.fips {
            format!("ecr-fips.{}.{suffix}", self.region)
        } else {
            format!("api.ecr.{}.{suffix}", self.region)
        }
    }
}

/// The ECR registry a canonical key names, or `None` when it is not one.
///
/// Accepted, anchored at both ends (never by suffix: `….amazonaws.com.evil.com` is nothing):
/// `ACCOUNT.dkr.ecr.REGION.amazonaws.com`, `ACCOUNT.dkr.ecr.REGION.amazonaws.com.cn` and
/// `ACCOUNT.dkr.ecr-fips.REGION.amazonaws.com`, with `ACCOUNT` exactly 12 digits and
/// `REGION` shaped like an AWS region (`us-east-1`, `us-gov-west-1`, `cn-north-1`; `cn-`
/// regions only under `.cn`). A port is allowed, as amazon-ecr-credential-helper allows it
/// (it matches the URL's host name): ECR itself serves 443 only, and a port lets a test
/// registry on loopback carry an ECR name.
///
/// Left out, because their token APIs differ or cannot be checked here: ECR Public
/// (`public.ecr.aws`, anonymous pulls need no credential), the dual-stack hosts
/// (`ACCOUNT.dkr-ecr.REGION.on.aws`), and the isolated partitions (`sc2s.sgov.gov`,
/// `c2s.ic.gov`, `cloud.adc-e.uk`, `csp.hci.ic.gov`, `amazonaws.eu`). Such a host can still
/// be saved as a `custom` registry with a token from `aws ecr get-login-password`.
pub fn registry(key: &Key) -> Option<Registry> {
    let key = key.as_str();
    let host = match key.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => host,
        Some(_) => return None,
        None => key,
    };
    let (account, rest) = host.split_once('.')?;
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (fips, rest) = if let Some(rest) = rest.strip_prefix("dkr.ecr.") {
        (false, rest)
    } else {
        (true, rest.strip_prefix("dkr.ecr-fips.")?)
    };
    let (region, suffix) = rest.split_once('.')?;
    let partition = match suffix {
        "amazonaws.com" => Partition::Aws,
        "amazonaws.com.cn" => Partition::China,
        _ => return None,
    };
    let china_region = region.starts_with("cn-");
    if !is_region(region) || china_region != (partition == Partition::China) {
        return None;
    }
    if fips && partition == Partition::China {
        return None;
    }
    Some(Registry {
        account: account.to_string(),
        region: region.to_string(),
        fips,
        partition,
    })
}

/// The form `add --provider ecr` expects, for messages.
pub const EXPECTED_FORM: &str = "ACCOUNT.dkr.ecr.REGION.amazonaws.com (12-digit account id; also \
     .amazonaws.com.cn for China, dkr.ecr-fips for FIPS)";

/// `us-east-1`, `us-gov-west-1`, `eusc-de-east-1`: lower-case letter groups joined by
/// hyphens, ending in a number; at most 32 characters.
fn is_region(region: &str) -> bool {
    let parts: Vec<&str> = region.split('-').collect();
    let Some((number, words)) = parts.split_last() else {
        return false;
    };
    region.len() <= 32
        && words.len() >= 2
        && words
            .iter()
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
        && !number.is_empty()
        && number.len() <= 2
        && number.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::normalize;

    fn reg(s: &str) -> Option<Registry> {
        registry(&normalize(s).expect("valid host"))
    }

    #[test]
    fn standard_registry() {
        let r = reg("123456789012.dkr.ecr.eu-west-1.amazonaws.com").expect("ECR");
        assert_eq!(r.account, "123456789012");
        assert_eq!(r.region, "eu-west-1");
        assert!(!r.fips);
        assert_eq!(r.partition, Partition::Aws);
        assert_eq!(r.api_host(), "api.ecr.eu-west-1.amazonaws.com");
    }

    #[test]
    fn every_spelling_a_client_sends() {
        for s in [
            "https://123456789012.dkr.ecr.us-east-1.amazonaws.com",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/v2/",
            "123456789012.DKR.ECR.US-EAST-1.AMAZONAWS.COM.",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com:443",
        ] {
            assert_eq!(reg(s).map(|r| r.region), Some("us-east-1".into()), "{s}");
        }
    }

    #[test]
    fn china_fips_and_govcloud() {
        let cn = reg("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn").expect("China");
        assert_eq!(cn.partition, Partition::China);
        assert_eq!(cn.api_host(), "api.ecr.cn-north-1.amazonaws.com.cn");
        let fips = reg("123456789012.dkr.ecr-fips.us-east-2.amazonaws.com").expect("FIPS");
        assert!(fips.fips);
        assert_eq!(fips.api_host(), "ecr-fips.us-east-2.amazonaws.com");
        let gov = reg("123456789012.dkr.ecr.us-gov-west-1.amazonaws.com").expect("GovCloud");
        assert_eq!(gov.api_host(), "api.ecr.us-gov-west-1.amazonaws.com");
    }

    #[test]
    fn host_names_the_registry_it_came_from() {
        for h in [
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
            "123456789012.dkr.ecr.cn-northwest-1.amazonaws.com.cn",
            "123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com",
        ] {
            let r = reg(h).expect(h);
            assert_eq!(r.host(), h);
            assert_eq!(reg(&r.host()), Some(r));
        }
    }

    #[test]
    fn a_port_is_kept_out_of_the_region() {
        let r = reg("123456789012.dkr.ecr.us-east-1.amazonaws.com:5000").expect("ECR");
        assert_eq!(r.region, "us-east-1");
    }

    #[test]
    fn lookalikes_and_other_hosts_are_not_ecr() {
        for s in [
            "123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.com",
            "evil.com/123456789012.dkr.ecr.us-east-1.amazonaws.com",
            "x123456789012.dkr.ecr.us-east-1.amazonaws.com",
            "a.123456789012.dkr.ecr.us-east-1.amazonaws.com",
            "12345678901.dkr.ecr.us-east-1.amazonaws.com",
            "1234567890123.dkr.ecr.us-east-1.amazonaws.com",
            "12345678901a.dkr.ecr.us-east-1.amazonaws.com",
            "123456789012.dkr.ecr.amazonaws.com",
            "123456789012.dkr.ecr.us-east-1.evil.amazonaws.com",
            "123456789012.dkr.ecr.us-east.amazonaws.com",
            "123456789012.dkr.ecr.useast1.amazonaws.com",
            "123456789012.dkr.ecr.us-east-1.amazonaws.co",
            "123456789012.dkr.ecr.cn-north-1.amazonaws.com",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com.cn",
            "123456789012.dkr.ecr-fips.cn-north-1.amazonaws.com.cn",
            "123456789012.dkr-ecr.us-east-1.on.aws",
            "123456789012.dkr.ecr.us_east-1.amazonaws.com",
            "public.ecr.aws",
            "api.ecr.us-east-1.amazonaws.com",
            "docker.io",
            "ghcr.io",
            "[::1]:5000",
        ] {
            assert_eq!(reg(s), None, "{s}");
        }
    }
}
