import * as http from "node:http";

/**
 * One HTTP request to 127.0.0.1 with node:http and no keep-alive. Not fetch: while a server was
 * still binding its port, a fetch promise stayed pending with no live handle and node:test
 * cancelled the test ("Promise resolution is still pending but the event loop has already resolved").
 */
export function request(port: number, method: string, urlPath: string, body?: string, timeoutMs = 10_000): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port, method, path: urlPath, agent: false, headers: body === undefined ? {} : { "content-type": "application/json", "content-length": Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${urlPath}: timed out`)));
    req.on("error", reject);
    req.end(body);
  });
}
