"""A federation's certificate authority: CA, RTI server certificate and one certificate per site (a client of
the RTI and of other sites' hosts, and the server of its own host's Peer service).

`directory` reads a certificate directory and the site a certificate names, `issue` creates a CA and
issues certificates (through `folders`, which never writes over a file or through a symbolic link),
`throwaway` makes the short-lived certificates of one local run and removes those a killed run left.
"""

from federation.names import COORDINATOR_SITE

from .directory import (SITE_DNS_SUFFIX, SITE_URN, CertDir, CertificateError, SiteCredentials, site_dns_name,
                        site_of_cert, site_of_pem, site_urn_of)
from .issue import DEFAULT_HOSTS, init_ca, issue_site
from .throwaway import OWNER_FILE, THROWAWAY_PREFIX, Leftovers, remove_stale_throwaways, throwaway

__all__ = ["COORDINATOR_SITE", "DEFAULT_HOSTS", "OWNER_FILE", "SITE_DNS_SUFFIX", "SITE_URN", "THROWAWAY_PREFIX",
           "CertDir", "CertificateError", "Leftovers", "SiteCredentials", "init_ca", "issue_site",
           "remove_stale_throwaways", "site_dns_name", "site_of_cert", "site_of_pem", "site_urn_of", "throwaway"]
