"""One sample line per credential shape, and the secret value that must never come out."""

from __future__ import annotations

AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzz1234ABCD"
PEM_BODY = "MIIEowIBAAKCAQEAx7J2kR9WqLm3vZ8pT4nQeYcBfH6sDgA1uK0oNjWiE5rXtVyPa"

# (shape, line, secret): ``secret`` appears in ``line`` and must not survive masking.
SHAPES: list[tuple[str, str, str]] = [
    ("aws access key id", "using key AKIAQ3EGRZP7EXAMPLE7 for s3", "AKIAQ3EGRZP7EXAMPLE7"),
    ("aws session key id", "AWS_ACCESS_KEY_ID=ASIAQ3EGRZP7EXAMPLE8", "ASIAQ3EGRZP7EXAMPLE8"),
    ("aws secret, ini", f"aws_secret_access_key = {AWS_SECRET}", AWS_SECRET),
    ("aws secret, env", f"export AWS_SECRET_ACCESS_KEY={AWS_SECRET}", AWS_SECRET),
    ("aws secret, json", f'{{"SecretAccessKey": "{AWS_SECRET}"}}', AWS_SECRET),
    ("aws secret beside its id", f"AKIAQ3EGRZP7EXAMPLE7 {AWS_SECRET}", AWS_SECRET),
    ("github pat classic", "remote: ghp_R4nd0mT0k3nV4lu3Abcdefghij0123456789", "R4nd0mT0k3n"),
    ("github oauth", "token gho_16C7e42F292c6912E7710c838347Ae178B4a", "16C7e42F292c6912"),
    ("github app user", "ghu_16C7e42F292c6912E7710c838347Ae178B4a", "16C7e42F292c6912"),
    ("github app install", "x-access ghs_16C7e42F292c6912E7710c838347Ae178B4a", "16C7e42F292c"),
    ("github refresh", "ghr_1B4a2e77838347a7E420ce178F2E7c6912E169246c3", "1B4a2e77838347"),
    ("github fine-grained", "github_pat_11ABCDEFG0aBcDeFgHiJkL_mnopQRSTuvwxyz0123456789", "aBcDeF"),
    ("slack bot", "SLACK=xoxb-2837465012-9384756102-aBcDeFgHiJkLmNoP", "9384756102"),
    ("slack webhook", "https://hooks.slack.com/services/T0ABC/B0DEF/XyZ123abc456", "XyZ123abc456"),
    ("google api key", "key=AIzaSyD3x4mpl3K3yV4lu3AbCdEfGhIjKlMnOpQ", "SyD3x4mpl3K3y"),
    ("stripe live", "stripe sk_live_4eC39HqLyjWDarjtT1zdp7dcABC", "4eC39HqLyjWDarjt"),
    ("stripe restricted", "rk_test_4eC39HqLyjWDarjtT1zdp7dcABC", "4eC39HqLyjWDarjt"),
    ("private key", "-----BEGIN RSA PRIVATE KEY-----", ""),
    (
        "jwt",
        "cookie eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36PO",
        "SflKxwRJSMeKKF2QT4fw",
    ),
    ("password assignment", "DB_PASSWORD=hunter2hunter2", "hunter2"),
    ("quoted password", "password: 'correct horse battery'", "correct horse"),
    ("token yaml", "  NPM_TOKEN: s3cr3tV4lue99", "s3cr3tV4lue99"),
    ("secret assignment", "client_secret=Zm9vYmFyYmF6cXV4", "Zm9vYmFyYmF6cXV4"),
    ("url credentials", "git clone https://bob:Pa55w0rdX@git.example.com/r.git", "Pa55w0rdX"),
    ("url token", "https://x-access-token:T0k3nT0k3nT0k3n@github.com/a/b", "T0k3nT0k3nT0k3n"),
    (
        "npm token",
        "//registry.npmjs.org/:_authToken=npm_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
        "AbCdEf",
    ),
    (
        "azure connection string",
        "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=Qm9n+dXM/S2V5PT0=;"
        "EndpointSuffix=core.windows.net",
        "Qm9n+dXM/S2V5PT0=",
    ),
    ("azure sas", "https://a.blob.core.windows.net/c?sv=2022&sig=AbC%2BdEf%3D", "AbC%2BdEf"),
    ("bearer header", "Authorization: Bearer abcdefghijklmnop0123456789", "abcdefghijklmnop"),
    ("basic header", "Authorization: Basic dXNlcjpwYXNzd29yZDEyMzQ=", "dXNlcjpwYXNz"),
    ("cli flag", "mysql --password=Sup3rS3cret", "Sup3rS3cret"),
]

PRIVATE_KEY = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    f"{PEM_BODY}\n"
    "q1w2e3r4t5y6u7i8o9p0AaSsDdFfGgHhJjKkLl==\n"
    "-----END RSA PRIVATE KEY-----"
)
