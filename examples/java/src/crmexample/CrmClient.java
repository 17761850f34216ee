package crmexample;

import com.google.gson.JsonObject;
import java.util.Map;

/**
 * The fix for the pool: one token, reused for every call, and one new login when the
 * server answers TOKEN_EXPIRED (never retrying the dead token). No timer: the server
 * says when a token is dead, whichever expiry rule the release follows.
 */
public final class CrmClient {
    private final CrmApi api;
    private String token;
    /** How often the server said TOKEN_EXPIRED (each followed by one login). */
    public int expired;

    public CrmClient(CrmApi api) {
        this.api = api;
    }

    public synchronized JsonObject get(String path, Map<String, String> params) {
        if (token == null) {
            token = api.login();
        }
        try {
            return api.get(path, token, params);
        } catch (CrmApi.CrmException e) {
            if (!"TOKEN_EXPIRED".equals(e.code)) {
                throw e;
            }
            expired++;
            token = api.login();
            return api.get(path, token, params);
        }
    }

    /** Release the token when done (R10, R11: it ends the session). */
    public synchronized void close() {
        if (token != null) {
            api.release(token);
            token = null;
        }
    }
}
