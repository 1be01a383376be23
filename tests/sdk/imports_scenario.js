// Imports and jobs with the unmodified npm packages, against a live Parley with a Celery worker: chatkitty-platform-sdk
// @2.4.0 uploads with the `form-data` package (its multipart bodies carry no boundary parameter and are chunked; the
// wrapper's own `Imports` uses Node's global FormData, which its axios 0.x cannot send, so the ImportsApi is built on
// the wrapper's configuration with `formDataCtor`, as its Configuration allows); chatkitty@2.106.8 uploads channels
// with Node's FormData and exports message analytics. Run by tests/imports/test_worker.py with PARLEY_URL, CLIENT_ID, CLIENT_SECRET and FILES (a
// folder holding users.json, channels.json, members.json and messages.json; members.json names CHANNEL_ID's
// members, and messages.json is written by this script once the channel exists).
"use strict";
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const FormData = require("form-data");
const sdk = require("chatkitty-platform-sdk");
const { ChatKitty } = require("chatkitty");
const { step, checkPage, completed } = require("./scenario");

const url = process.env.PARLEY_URL;
const credentials = { clientId: process.env.CLIENT_ID, clientSecret: process.env.CLIENT_SECRET };
const kitty = new sdk.ChatKitty({ ...credentials, basePath: url, authorizationBasePath: `${url}/oauth/token` });
const newer = new ChatKitty({ ...credentials, basePath: `${url}/v1`, authorizationBasePath: `${url}/oauth/token` });
const imports = new sdk.ImportsApi(
  new sdk.Configuration({ basePath: url, accessToken: kitty.apiConfiguration.accessToken, formDataCtor: FormData }),
);
const file = (name) => fs.createReadStream(path.join(process.env.FILES, name));
const blob = (name) => new Blob([fs.readFileSync(path.join(process.env.FILES, name))], { type: "application/json" });

async function finished(job, retrieve) {
  for (let waited = 0; waited < 60000; waited += 100) {
    const { data } = await retrieve(job.id);
    if (data.state === "FINISHED" || data.state === "FAILED") return data;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`job ${job.id} did not end`);
}

async function main() {
  const ended = {};
  await step("imports", async () => {
    const retrieve = (id) => kitty.Jobs.retrieveJob(id);
    const { data: users } = await imports.importUsers(file("users.json"));
    assert.equal(users.type, "USER_IMPORT");
    assert.equal(users.state, "PENDING");
    ended.users = await finished(users, retrieve);
    const { data: channels } = await newer.ImportsApi.importChannels(blob("channels.json"));
    assert.equal(channels.type, "CHANNEL_IMPORT");
    ended.channels = await finished(channels, retrieve);
    const { data: general } = await kitty.Channels.listChannels();
    const channel = general._embedded.channels.find((found) => found.name === "general");
    const { data: members } = await imports.importChannelMembers(channel.id, file("members.json"));
    assert.equal(members.type, "CHANNEL_MEMBERS_IMPORT");
    ended.members = await finished(members, retrieve);
    const messages = [1, 2, 3].map((n) => ({ type: "TEXT", channelId: channel.id, user: "ada", body: `old ${n}` }));
    fs.writeFileSync(path.join(process.env.FILES, "messages.json"), JSON.stringify(messages));
    const { data: imported } = await imports.importMessages(file("messages.json"));
    ended.messages = await finished(imported, retrieve);
  });

  await step("jobs", async () => {
    const { data: all } = await kitty.Jobs.listJobs();
    checkPage(all, "jobs", 4);
    const { data: running } = await kitty.Jobs.listJobs(undefined, undefined, undefined, true);
    assert.equal(running._embedded.jobs.length, 0);
  });

  await step("analytics", async () => {
    const { data: job } = await newer.AnalyticsApi.exportMessageAnalytics();
    assert.equal(job.type, "MESSAGE_IMPORT"); // the reference's kinds only: every client's enum takes it
    assert.equal(job.kind, "MESSAGE_ANALYTICS_EXPORT");
    const done = await finished(job, (id) => newer.JobsApi.retrieveJob(id));
    assert.equal(done.state, "FINISHED");
    ended.analytics = { state: done.state, file: done.file };
  });

  console.log(JSON.stringify({ steps: completed, ended }));
}

main().catch((error) => {
  console.error(error.message);
  process.exit(1);
});
