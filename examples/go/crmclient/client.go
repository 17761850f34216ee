// Package crmclient is a tiny CRM.COM Web API client, the kind an integrator writes:
// it logs in once, reuses its token, and logs in again when the server answers
// TOKEN_EXPIRED (never retrying the dead token). client_test.go tests it against
// crmmock in-process with mockserver.Start.
package crmclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Error is a Web API answer whose status.code is not OK (CRM.COM answers errors with
// HTTP 200).
type Error struct{ Code, Message string }

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Client calls one CRM.COM server as one user.
type Client struct {
	APIURL                           string // e.g. https://host/crmapi/rest/v2
	Username, Password, Organisation string
	HTTP                             *http.Client

	Token   string
	Expired int // how often the server said TOKEN_EXPIRED (each followed by one login)
}

func (c *Client) call(ctx context.Context, method, path string, query url.Values, body, data any) error {
	u := strings.TrimRight(c.APIURL, "/") + "/" + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd *bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var answer struct {
		Status struct{ Code, Message string }
		Data   json.RawMessage
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if answer.Status.Code != "OK" {
		return &Error{answer.Status.Code, answer.Status.Message}
	}
	if data != nil {
		return json.Unmarshal(answer.Data, data)
	}
	return nil
}

// Login gets a new token.
func (c *Client) Login(ctx context.Context) error {
	var data struct{ Token string }
	err := c.call(ctx, http.MethodPost, "authentication/token", nil,
		map[string]string{"username": c.Username, "password": c.Password, "organisation": c.Organisation}, &data)
	c.Token = data.Token
	return err
}

// Get calls a Web API method with the token in the query and decodes its data into
// out; on TOKEN_EXPIRED it logs in once and tries again.
func (c *Client) Get(ctx context.Context, path string, params url.Values, out any) error {
	if c.Token == "" {
		if err := c.Login(ctx); err != nil {
			return err
		}
	}
	get := func() error {
		q := url.Values{}
		for k, v := range params {
			q[k] = v
		}
		q.Set("token", c.Token)
		return c.call(ctx, http.MethodGet, path, q, nil, out)
	}
	err := get()
	if e, ok := err.(*Error); ok && e.Code == "TOKEN_EXPIRED" {
		c.Expired++
		if err := c.Login(ctx); err != nil {
			return err
		}
		return get()
	}
	return err
}

// Release releases the token (R10, R11): the server forgets it.
func (c *Client) Release(ctx context.Context) error {
	if c.Token == "" {
		return nil
	}
	err := c.call(ctx, http.MethodPost, "authentication/token/release", nil, map[string]string{"token": c.Token}, nil)
	c.Token = ""
	return err
}
