"""HTTP routes for the review kinds (`apiserver.authorization.reviews`): POST-only, nothing stored.

Registered before the generic `/apis/{tail}` route. A body is decoded like any create (JSON, YAML
or protobuf), checked against the kind's schema (`fieldValidation`), then answered 201 with the
review's status; any other method on these paths is 405, as for kube-apiserver's create-only
resources. Every request is the anonymous user's (kubeling has no authentication yet), or the
user it impersonates (`kubectl --as`), as the impersonation filter (`authorization_filter`) found;
the authorization filter has already let the requester create the review.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from apimachinery import errors
from apimachinery.kinds import ResourceType
from apiserver.authorization import Authorizer, UserInfo
from apiserver.authorization import reviews as review
from apiserver.http_api.authorization_filter import requester
from apiserver.http_api.responses import Handler, guarded, json_response, read_object, write_options
from apiserver.registry import objects
from apiserver.registry.validation import Validation

Object = dict[str, Any]
Answer = Callable[[web.Request, Object, UserInfo], Object]
AUTHORIZATION_V1 = "/apis/authorization.k8s.io/v1"


class Reviews:
    def __init__(self, authorizer: Authorizer) -> None:
        self.authorizer = authorizer
        self.validation = Validation()

    def handler(self, rt: ResourceType, answer: Answer) -> Handler:
        async def create(request: web.Request) -> web.StreamResponse:
            if request.method != "POST":
                raise errors.method_not_allowed("the server does not allow this method on the requested resource")
            user = requester(request)
            obj = await read_object(request)
            objects.check_type(rt, obj)
            obj.pop("status", None)  # the server's to fill; clients send an empty one
            warnings = self.validation.decode_checks(rt, obj, write_options(request).field_validation)
            return json_response(answer(request, obj, user), 201, warnings)
        return create

    def self_subject_access(self, request: web.Request, obj: Object, user: UserInfo) -> Object:
        return review.self_subject_access_review(obj, user, self.authorizer)

    def subject_access(self, request: web.Request, obj: Object, user: UserInfo) -> Object:
        return review.subject_access_review(obj, self.authorizer)

    def local_subject_access(self, request: web.Request, obj: Object, user: UserInfo) -> Object:
        return review.local_subject_access_review(obj, request.match_info["namespace"], self.authorizer)

    def self_subject_rules(self, request: web.Request, obj: Object, user: UserInfo) -> Object:
        return review.self_subject_rules_review(obj, user, self.authorizer)

    def self_subject(self, request: web.Request, obj: Object, user: UserInfo) -> Object:
        return review.self_subject_review(obj, user, objects.now_rfc3339())


def add_review_routes(app: web.Application, authorizer: Authorizer) -> Reviews:
    reviews = Reviews(authorizer)
    routes = [
        (f"{AUTHORIZATION_V1}/selfsubjectaccessreviews", review.SELF_SUBJECT_ACCESS_REVIEW,
         reviews.self_subject_access),
        (f"{AUTHORIZATION_V1}/subjectaccessreviews", review.SUBJECT_ACCESS_REVIEW, reviews.subject_access),
        (f"{AUTHORIZATION_V1}/namespaces/{{namespace}}/localsubjectaccessreviews",
         review.LOCAL_SUBJECT_ACCESS_REVIEW, reviews.local_subject_access),
        (f"{AUTHORIZATION_V1}/selfsubjectrulesreviews", review.SELF_SUBJECT_RULES_REVIEW,
         reviews.self_subject_rules),
        ("/apis/authentication.k8s.io/v1/selfsubjectreviews", review.SELF_SUBJECT_REVIEW, reviews.self_subject),
    ]
    for path, rt, answer in routes:
        app.router.add_route("*", path, guarded(reviews.handler(rt, answer)))
    return reviews
