"""Requests that no view can serve."""

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest


class RejectNulMiddleware:
    """400 for a NUL character in the path, the query string or a posted form.

    No id, branch name or filter can hold one (PostgreSQL's text cannot), so
    such a value would otherwise reach the database and fail there.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if _holds_nul(request):
            return HttpResponseBadRequest(
                "A NUL character is not allowed in a path, a query or a form field.",
                content_type="text/plain",
            )
        return self.get_response(request)


def _holds_nul(request: HttpRequest) -> bool:
    if "\x00" in request.path:
        return True
    forms = [request.GET, request.POST] if request.method == "POST" else [request.GET]
    return any(
        "\x00" in key or any("\x00" in value for value in form.getlist(key))
        for form in forms
        for key in form
    )
