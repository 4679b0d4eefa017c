/*
 * TraceTrout's live page: draws the path (server, hops, visitor) as an
 * inline SVG that grows as the hop rows arrive, and adds to the rows the
 * names and places that came after them (from the "Where the hops are"
 * table at the end). The page works without it. Loaded as a classic
 * script in <head>, so it watches the table from its first row on.
 */
(function () {
	"use strict";
	var NS = "http://www.w3.org/2000/svg";
	var STEP = 56, R = 9, CY = 16;
	var tbody = null, svg = null, who = "you", measured = false;

	function el(tag, attrs, text) {
		var e = document.createElementNS(NS, tag), k;

		for (k in attrs)
			if (Object.prototype.hasOwnProperty.call(attrs, k))
				e.setAttribute(k, attrs[k]);
		if (text !== undefined)
			e.textContent = text;
		return e;
	}

	/*
	 * For the browser test: the time from the hop settling at the server
	 * (data-at, microseconds since the epoch) to its row being in this page.
	 * Nothing on the page blocks rendering (style and script are inline), so
	 * the row is drawn at the next frame.
	 */
	function measure(row) {
		var at;

		if (measured || !row || row.nodeName !== "TR")
			return;
		measured = true;
		at = row.getAttribute("data-at");
		if (!at || !window.performance || !performance.timeOrigin)
			return;
		document.documentElement.dataset.firstRowLatencyMs =
		    String(performance.timeOrigin + performance.now() - Number(at) / 1000);
	}

	function hops() {
		var list = [], i, r, ip, host, reused;

		for (i = 0; i < tbody.rows.length; i++) {
			r = tbody.rows[i];
			ip = r.querySelector(".ip");
			host = r.querySelector(".host");
			/* A silent hop may show a router a recent trace measured there: not measured now. */
			reused = r.querySelector(".reused");
			list.push({
				ttl: r.cells.length ? r.cells[0].textContent : String(i + 1),
				ip: ip ? (host ? host.textContent + " (" + ip.textContent + ")" :
				    ip.textContent) : "",
				silent: r.classList.contains("silent"),
				reused: reused ? reused.textContent : "",
				dest: r.classList.contains("dest")
			});
		}
		return list;
	}

	/* Redrawn whole on every row: a trace has a few dozen hops at most. */
	function draw() {
		var list = hops(), nodes = [{ label: "server", tip: "this server", cls: "" }];
		var reached = false, silent = 0, routers = 0, i, x, desc, title;

		for (i = 0; i < list.length; i++) {
			if (list[i].dest) {
				reached = true;
				continue;
			}
			routers++;
			if (list[i].silent)
				silent++;
			nodes.push({
				label: list[i].ttl,
				tip: "hop " + list[i].ttl + ": " + (list[i].silent ? "no answer" +
				    (list[i].reused ? " now; " + list[i].reused : "") : list[i].ip),
				cls: list[i].silent ? "silent" : ""
			});
		}
		nodes.push({ label: who, tip: who + (reached ? "" : ": not reached yet"),
		    cls: reached ? "" : "end" });
		desc = "The path from this server through " + routers + (routers === 1 ?
		    " router" : " routers") + (silent ? " (" + silent + " silent)" : "") + " to " +
		    who + (reached ? "." : ", not reached yet.");

		while (svg.firstChild)
			svg.removeChild(svg.firstChild);
		svg.setAttribute("width", String(STEP * nodes.length));
		svg.setAttribute("height", String(CY * 2 + 18));
		svg.setAttribute("viewBox", "0 0 " + STEP * nodes.length + " " + (CY * 2 + 18));
		svg.setAttribute("aria-label", desc);
		title = el("title", { id: "path-title" }, desc);
		svg.appendChild(title);
		for (i = 0; i + 1 < nodes.length; i++) {
			x = STEP / 2 + i * STEP;
			svg.appendChild(el("line", { x1: x + R, y1: CY, x2: x + STEP - R, y2: CY }));
		}
		for (i = 0; i < nodes.length; i++) {
			x = STEP / 2 + i * STEP;
			svg.appendChild(el("circle", { cx: x, cy: CY, r: R, "class": nodes[i].cls }))
			    .appendChild(el("title", {}, nodes[i].tip));
			svg.appendChild(el("text", { x: x, y: CY * 2 + 12 }, nodes[i].label));
		}
	}

	/* The text of the cell of class cls in row r, "" if none. */
	function cell(r, cls) {
		var c = r.querySelector("." + cls);

		return c ? c.textContent : "";
	}

	/* As the server writes it (render_place): "City, Country, AS123 Org", those known. */
	function place(r) {
		var net = [cell(r, "asn"), cell(r, "org")].filter(Boolean).join(" ");

		return [cell(r, "city"), cell(r, "country"), net].filter(Boolean).join(", ");
	}

	function span(tag, cls, text) {
		var e = document.createElement(tag);

		e.className = cls;
		e.textContent = text;
		return e;
	}

	/*
	 * Names and places that came after their row are in the table the
	 * page ends with: each address in the hop rows that lacks them gets
	 * them from there, in the places the server puts them (textContent
	 * only: nothing from the table is parsed as markup).
	 */
	function fill() {
		var where = document.getElementById("where"), known = {}, ips, i, r, e, n, p;

		if (!tbody || !where || !where.tBodies.length)
			return;
		for (i = 0; i < where.tBodies[0].rows.length; i++) {
			r = where.tBodies[0].rows[i];
			known[cell(r, "ip")] = { host: cell(r, "host"), place: place(r) };
		}
		ips = tbody.querySelectorAll(".ip");
		for (i = 0; i < ips.length; i++) {
			e = Object.prototype.hasOwnProperty.call(known, ips[i].textContent) ?
			    known[ips[i].textContent] : null;
			if (!e)
				continue;
			n = ips[i].nextElementSibling;
			if (e.host && !(n && n.classList.contains("host"))) {
				ips[i].insertAdjacentElement("afterend", span("span", "host", e.host));
				ips[i].insertAdjacentText("afterend", " ");
			}
			/* The place goes after the name and the visitor's mark, if any. */
			for (p = ips[i]; p.nextElementSibling && (p.nextElementSibling.classList
			    .contains("host") || p.nextElementSibling.classList.contains("who"));)
				p = p.nextElementSibling;
			if (e.place && !(p.nextElementSibling &&
			    p.nextElementSibling.classList.contains("place")))
				p.insertAdjacentElement("afterend", span("small", "place", e.place));
		}
		draw();
	}

	function added(records) {
		var i, j;

		for (i = 0; i < records.length && !measured; i++)
			for (j = 0; j < records[i].addedNodes.length && !measured; j++)
				measure(records[i].addedNodes[j]);
		draw();
	}

	function start() {
		var table = document.getElementById("hops"), box;

		if (!table || !table.tBodies.length)
			return false;
		tbody = table.tBodies[0];
		who = table.getAttribute("data-who") || who;
		box = document.createElement("div");
		box.className = "path";
		svg = el("svg", { role: "img", "aria-labelledby": "path-title" });
		box.appendChild(svg);
		(table.parentNode.classList.contains("scroll") ? table.parentNode : table)
		    .insertAdjacentElement("beforebegin", box);
		/* Rows parsed in the same task as the table are as new as the table itself. */
		if (tbody.rows.length)
			measure(tbody.rows[0]);
		new MutationObserver(added).observe(tbody, { childList: true });
		draw();
		return true;
	}

	if (!start()) {
		var wait = new MutationObserver(function () {
			if (start())
				wait.disconnect();
		});
		wait.observe(document.documentElement, { childList: true, subtree: true });
		document.addEventListener("DOMContentLoaded", function () {
			wait.disconnect();
			if (!tbody)
				start();
		});
	}
	/* The table of names and places is the page's last part: it is whole by now. */
	document.addEventListener("DOMContentLoaded", fill);
})();
