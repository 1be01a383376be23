// Shared by the SDK scenarios: named steps, expected failures, and checks of the HAL shapes the SDK types promise.
"use strict";
const assert = require("node:assert/strict");

const completed = [];

async function step(name, body) {
  try {
    await body();
    completed.push(name);
  } catch (error) {
    const response = error.response;
    const detail = response ? ` (HTTP ${response.status} ${response.config.method} ${response.config.url}: ${JSON.stringify(response.data)})` : "";
    throw new Error(`step "${name}" failed: ${error.message}${detail}\n${error.stack}`);
  }
}

async function expectStatus(status, promise) {
  try {
    const response = await promise;
    assert.fail(`expected HTTP ${status}, got ${response.status}`);
  } catch (error) {
    if (!error.response) throw error;
    assert.equal(error.response.status, status, JSON.stringify(error.response.data));
    if (error.response.config.method !== "head") {
      const body = error.response.data;
      assert.equal(typeof body.error, "string", "an error names its kind");
      assert.equal(typeof body.message, "string", "an error explains itself");
    }
  }
}

function checkUser(user) {
  for (const key of ["id", "type", "name", "displayName", "displayPictureUrl", "isGuest", "presence", "properties"]) {
    assert.ok(key in user, `a user has ${key}`);
  }
  assert.ok(!Object.values(user).includes(null), "absent fields are omitted, never null");
}

function checkPage(page, rel, expected) {
  assert.ok(page._links && page._links.self, "a page links to itself");
  assert.equal(page.page.totalElements, expected);
  assert.equal(page._embedded[rel].length, Math.min(expected, page.page.size));
}

function checkCursorPage(page, rel, expected) {
  assert.ok(page._links && page._links.self, "a cursor page links to itself");
  assert.equal(page._embedded[rel].length, expected);
  if (expected === page.page.size) assert.ok(page._links.next, "a full cursor page links to the next");
}

module.exports = { step, expectStatus, checkUser, checkPage, checkCursorPage, completed };
