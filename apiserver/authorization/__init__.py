"""Authorization: the pluggable `Authorizer` every HTTP API request and every access review asks.

`authorizer` holds the protocol (authorize + rules_for), the decisions and the static modes
(`AlwaysAllow`, `AlwaysDeny`) that `--authorization-mode` selects; `user` the request's user
(always anonymous until kubeling has authentication); `impersonation` acting as another user
(`kubectl --as`); `reviews` the SubjectAccessReview family and SelfSubjectReview, answered by
asking the authorizer (`review_validation` checks them as Kubernetes does).

The HTTP API's filters (`apiserver.http_api.authorization_filter`) apply impersonation and the
authorizer to every request, as kube-apiserver's WithImpersonation and WithAuthorization do;
/healthz, /livez and /readyz are served before them, and the gRPC API is not authorized.
"""

from apiserver.authorization.authorizer import (
    MODES,
    AlwaysAllow,
    AlwaysDeny,
    Attributes,
    Authorizer,
    Decision,
    NonResourceRule,
    ResourceRule,
    Rules,
    Union,
    Verdict,
    new_authorizer,
)
from apiserver.authorization.user import ANONYMOUS, UserInfo

__all__ = ["ANONYMOUS", "MODES", "AlwaysAllow", "AlwaysDeny", "Attributes", "Authorizer", "Decision",
           "NonResourceRule", "ResourceRule", "Rules", "Union", "UserInfo", "Verdict", "new_authorizer"]
