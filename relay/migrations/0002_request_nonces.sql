-- Signed requests' (signer, nonce) pairs, shared by every relay instance on this database,
-- each kept until its request's timestamp leaves the signature window (`expires`, Unix s).

CREATE TABLE request_nonces (
    address TEXT NOT NULL,
    nonce   TEXT NOT NULL,
    expires BIGINT NOT NULL,
    PRIMARY KEY (address, nonce)
);

CREATE INDEX request_nonces_by_expiry ON request_nonces (expires);
