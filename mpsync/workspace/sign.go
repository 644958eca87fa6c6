package workspace

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"time"
)

// DateFormat is the layout of the x-ms-date header: RFC 1123 in GMT.
const DateFormat = "Mon, 02 Jan 2006 15:04:05 GMT"

// StringToSign returns the text a SharedKey signature covers (docs/protocol.md
// section 4): the verb, the content length ("0" without a body), the content
// type (empty without a body), the x-ms-date value and the escaped resource
// path without its query.
func StringToSign(method string, contentLength int64, contentType, date, resourcePath string) string {
	return method + "\n" + strconv.FormatInt(contentLength, 10) + "\n" + contentType + "\n" +
		"x-ms-date:" + date + "\n" + resourcePath
}

// Signature returns base64(HMAC-SHA256(key, stringToSign)), where key is the
// decoded workspace key.
func Signature(key []byte, stringToSign string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(stringToSign))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// ResourcePath returns the path a signature covers for req: its escaped
// path, starting with "/", without the query.
func ResourcePath(req *http.Request) string {
	p := req.URL.EscapedPath()
	if p == "" || p[0] != '/' {
		p = "/" + p
	}
	return p
}

// Sign sets the x-ms-date and Authorization headers of a body-less request,
// signed for workspaceID with key (decoded) at time now. The server side of
// the same computation is in [mpsync.dev/mpsync/mpsynctest].
func Sign(req *http.Request, workspaceID string, key []byte, now time.Time) {
	date := now.UTC().Format(DateFormat)
	sts := StringToSign(req.Method, 0, "", date, ResourcePath(req))
	req.Header.Set("x-ms-date", date)
	req.Header.Set("Authorization", "SharedKey "+workspaceID+":"+Signature(key, sts))
}
