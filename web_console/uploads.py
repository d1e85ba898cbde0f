"""Agents' replies with files: the multipart form read within its limits (10 files, 10 MiB
each, 25 MiB in all), every spooled upload closed on every path."""

from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request

from web_console.port import UploadedFile
from web_console.requests import FormReply, Reply, validated

MAX_FILES = 10
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_UPLOAD_BYTES = 25 * 1024 * 1024


async def form_parts(
    items: list[tuple[str, UploadFile | str]],
) -> tuple[dict[str, str], list[UploadedFile]]:
    """A form's text fields, and its files within the limits."""
    fields: dict[str, str] = {}
    files: list[UploadedFile] = []
    total = 0
    for name, value in items:
        if isinstance(value, str):
            fields[name] = value
            continue
        if name != "files":
            raise HTTPException(422, f"{name}: files go in parts named 'files'")
        content = await value.read(MAX_FILE_BYTES + 1)
        filename = value.filename or "file"
        if len(content) > MAX_FILE_BYTES:
            raise HTTPException(413, f"{filename}: over {MAX_FILE_BYTES // 2**20} MiB")
        if not content:
            raise HTTPException(422, f"{filename}: the file is empty")
        total += len(content)
        if total > MAX_UPLOAD_BYTES:
            raise HTTPException(413, f"the upload is over {MAX_UPLOAD_BYTES // 2**20} MiB")
        files.append(
            UploadedFile(filename, value.content_type or "application/octet-stream", content)
        )
    return fields, files


async def reply_form(request: Request) -> tuple[Reply, list[UploadedFile]]:
    """A reply sent as multipart/form-data: its fields, checked as the JSON body is, and its
    files, each within the limits."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_UPLOAD_BYTES + 64 * 1024:
        raise HTTPException(413, f"the upload is over {MAX_UPLOAD_BYTES // 2**20} MiB")
    try:
        form = await request.form(max_files=MAX_FILES, max_fields=10)
    except HTTPException as exc:
        raise HTTPException(400, f"malformed form: {exc.detail}") from None
    try:
        fields, files = await form_parts(form.multi_items())
    finally:
        await form.close()  # uploads past 1 MB were spooled to temporary files
    model: type[Reply] = FormReply if files else Reply
    return validated(model, fields), files
